// The tenant console: hash routes, each page built from the API and checked in the browser before it is shown.
import { api, ApiError, enc, session, watchEvents } from './api.js';
import { verifyInclusion, verifyV2 } from './verify.js';
import { LineChart } from './chart.js';

const main = document.getElementById('main');
let stopPage = () => {};
let tenant = null;

const CAPABILITIES = ['identity', 'storage', 'content', 'social', 'ai-chat', 'memory'];
const CATEGORIES = ['identity', 'nodes', 'apps', 'contentManifest', 'socialGraph', 'memoryIndex'];

/** Builds an element: h('p.muted', {id: 'x'}, 'text', child). Text is always text, never HTML. */
function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(' ');
  // A first child that is falsy (0, '') is still a child, not missing attributes.
  if (attrs !== null && attrs !== undefined && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) { children.unshift(attrs); attrs = null; }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

// At phone widths a table's rows become stacked cards: each cell says which column it is (CSS reads data-label).
function stacked(table) {
  const heads = [...table.tHead.rows[0].cells].map((c) => c.textContent);
  for (const row of table.tBodies[0]?.rows ?? []) [...row.cells].forEach((c, i) => { c.dataset.label = heads[i] ?? ''; });
  table.classList.add('stack');
  return table;
}

const short = (s, n = 18) => (s && s.length > n ? `${s.slice(0, n)}…` : s ?? '');
const when = (ms) => (ms ? new Date(ms).toLocaleString() : 'never');
const bytes = (n) => (n == null ? '—' : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);

function badge(result) {
  return result.ok
    ? h('span.badge.ok.verify', { 'data-verified': 'true' }, 'verified in this browser')
    : h('span.badge.bad.verify', { 'data-verified': 'false' }, `verification failed: ${result.reason}`);
}

function errorBox(e) {
  return h('div.error', { role: 'alert' }, e instanceof ApiError ? `${e.message} (${e.status}${e.code ? `, ${e.code}` : ''})` : String(e?.message ?? e));
}

function confirmAction(title, text) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  document.getElementById('confirm-ok').focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

function show(title, ...content) {
  main.replaceChildren(h('h1', title), ...content);
  document.title = `${title} · Vivim console`;
  main.focus();
}

async function signIn() {
  const input = h('input', { type: 'password', id: 'api-key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { id: 'sign-in' },
    h('label', { for: 'api-key' }, 'Tenant API key'), input,
    h('p.muted', 'The key stays in this tab (session storage) and is sent only as a bearer header.'),
    h('div.actions', h('button.primary', { type: 'submit' }, 'Sign in')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    session.set(input.value.trim());
    try {
      await loadTenant();
      location.hash = '#/nodes';
      route();
    } catch (err) {
      session.clear();
      status.replaceChildren(errorBox(err));
    }
  });
  document.getElementById('nav').hidden = true;
  show('Sign in', form);
  input.focus();
}

async function loadTenant() {
  tenant = await api('GET', '/v1/tenants/self');
  document.getElementById('tenant').textContent = tenant.name;
  document.getElementById('nav').hidden = false;
}

async function nodesPage() {
  const list = h('div', h('p.muted', 'Loading…'));
  const caps = CAPABILITIES.map((c) => h('label.inline', h('input', { type: 'checkbox', name: 'cap', value: c, checked: true }), c));
  const form = h('form', { id: 'create-node' },
    h('fieldset', h('legend', 'Capabilities'), caps),
    h('fieldset', h('legend', 'Policy'),
      h('label', { for: 'max-clones' }, 'Max clones'), h('input', { type: 'number', id: 'max-clones', min: 0, value: Math.min(100, tenant?.quotas?.maxClonesPerExitNode ?? 100) }),
      h('label.inline', h('input', { type: 'checkbox', id: 'allow-migration', checked: true }), 'Allow migration'),
      h('label.inline', h('input', { type: 'checkbox', id: 'require-verification', checked: true }), 'Require verification'),
      h('label.inline', h('input', { type: 'checkbox', id: 'clones-write' }), 'New clones may write')),
    h('div.actions', h('button.primary', { type: 'submit', id: 'create' }, 'Create exit node')));
  const status = h('div', { 'aria-live': 'polite' });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const body = {
        capabilities: [...form.querySelectorAll('input[name=cap]:checked')].map((i) => i.value),
        policy: { maxClones: Number(form.querySelector('#max-clones').value), allowMigration: form.querySelector('#allow-migration').checked, requireVerification: form.querySelector('#require-verification').checked },
        defaultPermissions: form.querySelector('#clones-write').checked ? ['read', 'write'] : ['read'],
      };
      const created = await api('POST', '/v1/exit-nodes', body);
      status.replaceChildren(h('p.ok', { id: 'created' }, 'Created ', h('a', { href: `#/node/${enc(created.did)}` }, created.did)));
      await refresh();
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  });
  const usage = h('p.muted', { id: 'usage' });
  async function refresh() {
    try {
      tenant = await api('GET', '/v1/tenants/self');
      usage.textContent = `${tenant.usage.exitNodes} of ${tenant.quotas.maxExitNodes ?? '∞'} exit nodes · ${tenant.usage.clones} clones · ${bytes(tenant.usage.stateBytes)} of state`;
      const page = await api('GET', '/v1/exit-nodes?limit=500');
      if (!page.items.length) {
        list.replaceChildren(h('div.empty', 'No exit nodes yet. Create one below.'));
        return;
      }
      list.replaceChildren(h('div.table-wrap', stacked(h('table', { id: 'nodes' },
        h('thead', h('tr', h('th', 'DID'), h('th', 'Head'), h('th', 'Clones'), h('th.hide-narrow', 'State'), h('th', 'Advertisement'), h('th', ''))),
        h('tbody', page.items.map((n) => {
          const status = h('span.muted', 'checking…');
          api('GET', `/v1/exit-nodes/${enc(n.did)}`).then((d) => verifyV2('ExitNodeAdvertisement', d.advertisement, n.did))
            .then((r) => status.replaceWith(badge(r)), (err) => status.replaceWith(errorBox(err)));
          return h('tr', { 'data-did': n.did },
            h('td.mono', h('a', { href: `#/node/${enc(n.did)}` }, short(n.did, 28))), h('td', n.headSeq), h('td', n.cloneCount),
            h('td.hide-narrow', bytes(n.stateBytes)), h('td', status),
            h('td', h('button.danger', { type: 'button', 'aria-label': `Delete ${n.did}`, onclick: async () => {
              if (!(await confirmAction('Delete exit node?', `${n.did}: its clones are told to stop and its data is removed. This cannot be undone.`))) return;
              try { await api('DELETE', `/v1/exit-nodes/${enc(n.did)}`); await refresh(); } catch (err) { list.prepend(errorBox(err)); }
            } }, 'Delete')));
        }))))));
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  }
  show('Exit nodes', usage, list, h('h2', 'Create an exit node'), form, status);
  await refresh();
}

function tabs(did, current) {
  const items = [['', 'Overview'], ['clones', 'Clones'], ['documents', 'Documents'], ['events', 'Registrations & events']];
  return h('nav.tabs', { 'aria-label': 'Exit node' }, items.map(([path, label]) =>
    h('a', { href: `#/node/${enc(did)}${path ? `/${path}` : ''}`, 'aria-current': path === current ? 'page' : null }, label)));
}

async function nodeOverview(did) {
  const stats = h('div.grid', h('p.muted', 'Loading…'));
  const advert = h('div');
  const rate = new LineChart(h('canvas', { id: 'rate-chart' }), { label: 'Commits per second' });
  const lag = new LineChart(h('canvas', { id: 'lag-chart' }), { label: 'Lag per clone (head − cursor)' });
  const log = h('ul.log', { id: 'commit-log', 'aria-live': 'polite' });
  const logEmpty = h('div.empty', { id: 'commit-empty' }, 'No commits yet. They appear here as they are made.');
  const older = h('button', { type: 'button', id: 'older' }, 'Older commits');
  const live = h('span.badge.muted', { id: 'live' }, 'connecting…');
  show(short(did, 40), tabs(did, ''), stats, advert,
    h('h2', 'Commits per second'), rate.canvas, h('h2', 'Clone lag'), lag.canvas,
    h('h2', 'Commit log ', live), logEmpty, log, h('div.actions', older));

  let detail;
  try {
    detail = await api('GET', `/v1/exit-nodes/${enc(did)}`);
  } catch (err) {
    main.replaceChildren(h('h1', 'Exit node'), errorBox(err));
    return;
  }
  const quota = tenant?.quotas?.maxStateBytesPerExitNode;
  const headStat = h('b', { id: 'head-seq' }, detail.headSeq);
  const rootStat = h('b.mono', { id: 'root' }, short(detail.root, 24));
  const sizeStat = h('b', { id: 'state-size' }, `${bytes(detail.stateBytes)}${quota ? ` of ${bytes(quota)}` : ''}`);
  stats.replaceChildren(
    h('div.card.stat', 'Head seq', headStat), h('div.card.stat', 'Root', rootStat),
    h('div.card.stat', 'State', sizeStat), h('div.card.stat', 'Clones', h('b', { id: 'clone-count' }, detail.cloneCount)));
  const adv = detail.advertisement;
  advert.replaceChildren(h('div.card', h('b', 'Advertisement '), h('span', { id: 'advert-status' }, badge(await verifyV2('ExitNodeAdvertisement', adv, did))),
    h('p.muted', `capabilities: ${adv.capabilities.join(', ') || 'none'} · max clones ${adv.policy.maxClones} · migration ${adv.policy.allowMigration ? 'allowed' : 'not allowed'} · verification ${adv.policy.requireVerification ? 'required' : 'not required'}`)));

  let oldest = null;
  const seen = new Set();
  async function commitItem(event) {
    const result = await verifyV2('Commit', event.commit, did);
    const sameAsShown = event.commit.root === event.root && event.commit.fromSeq === event.fromSeq && event.commit.toSeq === event.toSeq;
    const shown = sameAsShown ? result : { ok: false, reason: 'the summary does not match the signed commit' };
    return h('li', { 'data-from': event.fromSeq, 'data-to': event.toSeq },
      h('b', event.fromSeq === event.toSeq ? `seq ${event.fromSeq}` : `seq ${event.fromSeq}–${event.toSeq}`), ' · ',
      `${event.updateCount} update${event.updateCount === 1 ? '' : 's'} · ${when(event.timestamp)} · by `,
      h('span.mono', (event.authors || []).map((a) => short(a, 28)).join(', ') || 'unknown'), ' ', badge(shown));
  }
  async function loadOlder() {
    const before = oldest ?? detail.headSeq + 1;
    if (before <= 1) { older.disabled = true; return; }
    const after = Math.max(0, before - 1 - 100);
    try {
      const page = await api('GET', `/v1/exit-nodes/${enc(did)}/commits?after=${after}&limit=${before - 1 - after}`);
      const items = page.items.filter((c) => c.toSeq < before && !seen.has(c.fromSeq)).sort((a, b) => b.fromSeq - a.fromSeq);
      for (const c of items) {
        seen.add(c.fromSeq);
        log.append(await commitItem(c));
        oldest = Math.min(oldest ?? Infinity, c.fromSeq);
      }
      if (!items.length) oldest = after + 1;
      logEmpty.hidden = log.children.length > 0;
      older.disabled = (oldest ?? 1) <= 1;
    } catch (err) {
      log.after(errorBox(err));
    }
  }
  older.addEventListener('click', loadOlder);
  await loadOlder();

  const commitTimes = [];
  const stop = watchEvents(did, async (name, data) => {
    if (name === 'commit') {
      if (seen.has(data.fromSeq)) return;
      seen.add(data.fromSeq);
      commitTimes.push(Date.now());
      log.prepend(await commitItem(data));
      logEmpty.hidden = true;
      headStat.textContent = data.toSeq;
      rootStat.textContent = short(data.root, 24);
    } else if (name === 'progress') {
      headStat.textContent = data.headSeq;
      rootStat.textContent = short(data.root, 24);
      sizeStat.textContent = `${bytes(data.stateBytes)}${quota ? ` of ${bytes(quota)}` : ''}`;
      document.getElementById('clone-count').textContent = data.clones.length;
      const now = Date.now();
      for (const c of data.clones) lag.add(short(c.cloneId, 24), now, c.lag);
      lag.canvas.dataset.lags = JSON.stringify(Object.fromEntries(data.clones.map((c) => [c.cloneId, c.lag])));
    }
  }, (state) => { live.textContent = state.live ? 'live' : state.error ? `offline: ${state.error.message}` : 'reconnecting…'; live.className = `badge ${state.live ? 'ok' : 'warn'}`; });
  const timer = setInterval(() => {
    const now = Date.now();
    while (commitTimes.length && commitTimes[0] < now - 5000) commitTimes.shift();
    rate.add('commits/s', now, Math.round(commitTimes.length / 5 * 10) / 10);
    rate.draw(now);
    lag.draw(now);
  }, 1000);
  stopPage = () => { stop(); clearInterval(timer); };
}

async function clonesPage(did) {
  const body = h('div', h('p.muted', 'Loading…'));
  show('Clones', tabs(did, 'clones'), h('p.mono.muted', did), body);
  async function act(method, path, payload, question) {
    if (question && !(await confirmAction(question[0], question[1]))) return;
    try { await api(method, path, payload); await refresh(); } catch (err) { body.prepend(errorBox(err)); }
  }
  async function refresh() {
    try {
      const page = await api('GET', `/v1/exit-nodes/${enc(did)}/clones?limit=500`);
      if (!page.items.length) {
        body.replaceChildren(h('div.empty', 'No clones yet. A clone appears here once its registration is approved.'));
        return;
      }
      body.replaceChildren(h('div.table-wrap', stacked(h('table', { id: 'clones' },
        h('thead', h('tr', h('th', 'Clone'), h('th', 'Trust'), h('th', 'Permissions'), h('th.hide-narrow', 'Migration'), h('th', 'Connected'),
          h('th.hide-narrow', 'Last sync'), h('th', 'Pending'), h('th', 'Actions'))),
        h('tbody', page.items.map((c) => {
          const base = `/v1/exit-nodes/${enc(did)}/clones/${enc(c.cloneId)}`;
          const suspended = c.trustLevel === 'suspended';
          const writes = c.permissions.includes('write');
          return h('tr', { 'data-clone': c.cloneId, 'data-connected': String(c.connected), 'data-trust': c.trustLevel },
            h('td.mono', { title: c.did }, short(c.cloneId, 28)), h('td', c.trustLevel), h('td', c.permissions.join(', ')),
            h('td.hide-narrow', c.migrationType), h('td', c.connected ? h('span.badge.ok', 'connected') : h('span.badge.muted', 'offline')),
            h('td.hide-narrow', when(c.lastSyncAt)), h('td', c.pendingUpdates),
            h('td', h('div.actions',
              suspended
                ? h('button', { type: 'button', onclick: () => act('POST', `${base}/reinstate`, {}) }, 'Reinstate')
                : h('button', { type: 'button', class: 'suspend', onclick: () => act('POST', `${base}/suspend`, {}, ['Suspend clone?', `${c.cloneId} loses access at once; its session closes.`]) }, 'Suspend'),
              h('button', { type: 'button', onclick: () => act('PUT', `${base}/permissions`, { permissions: writes ? ['read'] : ['read', 'write'] }) }, writes ? 'Make read-only' : 'Allow writes'),
              h('button.danger', { type: 'button', onclick: () => act('DELETE', base, undefined, ['Remove clone?', `${c.cloneId} is removed for good.`]) }, 'Remove'))));
        }))))));
    } catch (err) {
      body.replaceChildren(errorBox(err));
    }
  }
  await refresh();
  // Rows are rebuilt when something about a clone changed, not at every progress report (buttons stay put).
  let shown = '';
  const stop = watchEvents(did, (name, data) => {
    if (name === 'progress') {
      const now = JSON.stringify(data.clones.map((c) => [c.cloneId, c.connected, c.trustLevel]));
      if (now === shown) return;
      shown = now;
    }
    if (name === 'clone' || name === 'registration' || name === 'progress') refresh();
  });
  stopPage = stop;
}

async function documentsPage(did, selected) {
  const tree = h('nav', { 'aria-label': 'Documents', id: 'document-tree' }, h('p.muted', 'Loading…'));
  const view = h('div', { id: 'document' });
  show('Documents', tabs(did, 'documents'), h('p.mono.muted', did), h('div.split', tree, view));
  try {
    const paths = [];
    let cursor = null;
    do {
      const page = await api('GET', `/v1/exit-nodes/${enc(did)}/document-paths?limit=500${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      paths.push(...page.items.map((i) => i.path));
      cursor = page.nextCursor;
    } while (cursor && paths.length < 5000);
    if (!paths.length) {
      tree.replaceChildren(h('div.empty', 'No documents yet. Owner writes and clones\u2019 writes appear here.'));
    } else {
      tree.replaceChildren(...CATEGORIES.filter((c) => paths.some((p) => p.startsWith(`${c}/`))).map((c) =>
        h('details', { open: true }, h('summary', c), h('ul', paths.filter((p) => p.startsWith(`${c}/`)).map((p) =>
          h('li', h('a.mono', { href: `#/node/${enc(did)}/documents/${enc(p)}` }, p.slice(c.length + 1))))))));
    }
  } catch (err) {
    tree.replaceChildren(errorBox(err));
  }
  if (!selected) {
    view.replaceChildren(h('div.empty', 'Choose a document to see its JSON and its proof.'));
    return;
  }
  try {
    const doc = await api('GET', `/v1/exit-nodes/${enc(did)}/documents/${selected.split('/').map(enc).join('/')}?withCommit=true`);
    let result;
    if (!doc.commit) {
      result = { ok: false, reason: 'no signed commit came with the root' };
    } else {
      const signature = await verifyV2('Commit', doc.commit, did);
      result = !signature.ok ? signature
        : doc.commit.root !== doc.root ? { ok: false, reason: 'the root is not the signed commit\u2019s' }
        : await verifyInclusion(doc.path, doc.document, doc.merkleProof, doc.commit.root);
    }
    view.replaceChildren(h('h2', { id: 'document-path' }, doc.path), h('p', 'Merkle proof against the root signed at seq ', String(doc.commit?.toSeq ?? '?'), ': ', h('span', { id: 'proof-status' }, badge(result))),
      h('p.muted', `last changed at seq ${doc.seq}`), h('pre', { id: 'document-json' }, JSON.stringify(doc.document, null, 2)),
      h('details', h('summary', 'Proof'), h('pre.mono', doc.merkleProof), h('p.mono', `root ${doc.root}`)));
  } catch (err) {
    view.replaceChildren(errorBox(err));
  }
}

async function eventsPage(did) {
  const list = h('ul.log', { id: 'events' });
  const empty = h('div.empty', 'No registrations or clone events yet. They appear here as they happen.');
  show('Registrations & events', tabs(did, 'events'), h('p.mono.muted', did), empty, list);
  let head = 0;
  try { head = (await api('GET', `/v1/exit-nodes/${enc(did)}`)).headSeq; } catch (err) { main.append(errorBox(err)); return; }
  stopPage = watchEvents(did, (name, data) => {
    if (name !== 'registration' && name !== 'clone') return;
    empty.hidden = true;
    const good = data.kind === 'registration-approved' || data.kind === 'clone-reinstated';
    const bad = data.kind === 'registration-denied' || data.kind === 'clone-suspended' || data.kind === 'clone-removed';
    list.prepend(h('li', { 'data-kind': data.kind },
      h(`span.badge.${good ? 'ok' : bad ? 'bad' : 'muted'}`, data.kind.replace('-', ' ')), ' ', when(data.at), ' · ',
      h('span.mono', short(data.cloneId || data.cloneDid, 32)), data.reason ? h('span', ' · ', h('b', data.reason)) : null,
      data.permissions?.length ? ` · ${data.permissions.join(', ')}` : ''));
  }, null, `${head}.0`);
}

async function route() {
  stopPage();
  stopPage = () => {};
  if (!session.key) return signIn();
  try {
    if (!tenant) await loadTenant();
  } catch (err) {
    session.clear();
    return signIn();
  }
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'node' && parts[1]) {
    const did = parts[1];
    if (parts[2] === 'clones') return clonesPage(did);
    if (parts[2] === 'documents') return documentsPage(did, parts.slice(3).join('/') || null);
    if (parts[2] === 'events') return eventsPage(did);
    return nodeOverview(did);
  }
  return nodesPage();
}

document.getElementById('sign-out').addEventListener('click', () => {
  session.clear();
  tenant = null;
  location.hash = '';
  route();
});
window.addEventListener('hashchange', route);
route();
