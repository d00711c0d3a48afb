// The API as the console calls it: the key lives in sessionStorage and travels only as a bearer header.
const KEY = 'vivim.apiKey';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set(key) { sessionStorage.setItem(KEY, key); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || problem?.denialReason || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code;
  }
}

export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${session.key}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (response.status === 204) return null;
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

export const enc = encodeURIComponent;

/**
 * Reads an exit node's Server-Sent Events with fetch (EventSource cannot send the bearer header), reconnecting with
 * Last-Event-ID after the last event it got (from: a cursor to start after). Returns a function that stops it.
 */
export function watchEvents(did, onEvent, onState, from = null) {
  const stopper = new AbortController();
  let last = from;
  (async () => {
    while (!stopper.signal.aborted) {
      try {
        const headers = { Authorization: `Bearer ${session.key}` };
        if (last) headers['Last-Event-ID'] = last;
        const response = await fetch(`/v1/exit-nodes/${enc(did)}/events`, { headers, signal: stopper.signal, cache: 'no-store' });
        if (!response.ok) {
          const problem = await response.json().catch(() => null);
          onState?.({ live: false, error: new ApiError(response.status, problem) });
          if (response.status === 404 || response.status === 401) return;
        } else {
          onState?.({ live: true });
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            let end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const event = { name: 'message', id: null, data: '' };
              for (const line of block.split('\n')) {
                const colon = line.indexOf(':');
                if (colon === 0) continue;
                const field = colon < 0 ? line : line.slice(0, colon);
                const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
                if (field === 'event') event.name = value;
                else if (field === 'id') event.id = value;
                else if (field === 'data') event.data += (event.data ? '\n' : '') + value;
              }
              if (!event.data) continue;
              if (event.id) last = event.id;
              onEvent(event.name, JSON.parse(event.data));
              if (event.name === 'end') return;
            }
          }
          onState?.({ live: false });
        }
      } catch (e) {
        if (stopper.signal.aborted) return;
        onState?.({ live: false, error: e });
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
  return () => stopper.abort();
}
