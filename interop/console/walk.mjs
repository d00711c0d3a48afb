// Walks the tenant console in Debian's headless Chromium through a test-only proxy in front of a real gateway.
// Usage: node walk.mjs <gateway base URL> <tenant API key> <screenshot directory>
// It talks with the test that started it in JSON lines: it writes {"need": ...} on stdout and reads the answer on
// stdin; the last stdout line is the verdict {ok, steps, consoleErrors, failedRequests, screenshots, error?}.
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const [gatewayUrl, apiKey, shotsDir] = process.argv.slice(2);
const gateway = new URL(gatewayUrl);
const patience = 120_000;
const verdict = { ok: false, steps: [], consoleErrors: [], failedRequests: [], screenshots: [] };
const step = (name, detail = {}) => verdict.steps.push({ name, at: Date.now(), ...detail });

// The test's answers, one JSON line each, in order.
const answers = [];
const waiting = [];
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const value = JSON.parse(line);
  if (waiting.length) waiting.shift()(value); else answers.push(value);
});
function ask(need) {
  process.stdout.write(JSON.stringify({ need }) + '\n');
  return answers.length ? Promise.resolve(answers.shift()) : new Promise((resolve) => waiting.push(resolve));
}

// The proxy passes everything through, streaming. While `tamper` is on it changes each commit the commits route
// answers (its timestamp, by one millisecond): only the commit's signature can notice.
let tamper = false;
let tampered = 0;
const proxy = http.createServer((req, res) => {
  const upstream = http.request({ host: gateway.hostname, port: gateway.port, path: req.url, method: req.method, headers: { ...req.headers, host: gateway.host } }, (answer) => {
    const rewrite = tamper && /^\/v1\/exit-nodes\/[^/]+\/commits\?/.test(req.url) && answer.statusCode === 200;
    if (!rewrite) {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
      return;
    }
    const chunks = [];
    answer.on('data', (c) => chunks.push(c));
    answer.on('end', () => {
      const page = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const item of page.items) { item.commit.timestamp += 1; tampered++; }
      const body = Buffer.from(JSON.stringify(page));
      const headers = { ...answer.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      res.writeHead(200, headers);
      res.end(body);
    });
  });
  upstream.on('error', () => res.destroy());
  res.on('close', () => { if (!res.writableFinished) upstream.destroy(); });
  req.pipe(upstream);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${proxy.address().port}`;

const profile = mkdtempSync(path.join(tmpdir(), 'vivim-console-chromium-'));
mkdirSync(shotsDir, { recursive: true });
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  userDataDir: profile,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

try {
  const page = await browser.newPage();
  page.setDefaultTimeout(patience);
  page.on('console', (m) => { if (m.type() === 'error') verdict.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => verdict.consoleErrors.push(String(e)));
  page.on('requestfailed', (r) => {
    // Leaving a page closes its event stream on purpose.
    const aborted = r.failure()?.errorText === 'net::ERR_ABORTED' && r.url().endsWith('/events');
    if (!aborted) verdict.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) verdict.failedRequests.push(`${r.request().method()} ${r.url()}: ${r.status()}`); });

  async function shoot(name) {
    for (const width of [1280, 360]) {
      await page.setViewport({ width, height: 900 });
      await new Promise((resolve) => setTimeout(resolve, 150)); // a frame for the layout at the new width
      const file = path.join(shotsDir, `${name}-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      if (width === 360 && overflow > 0) throw new Error(`${name} is ${overflow} px wider than 360 px`);
      verdict.screenshots.push(file);
    }
    await page.setViewport({ width: 1280, height: 900 });
  }
  const go = async (hash) => { await page.evaluate((h) => { location.hash = h; }, hash); };

  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${base}/console`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#api-key');
  if (await page.$eval('#nav', (n) => n.getClientRects().length > 0)) throw new Error('the signed-in navigation shows before signing in');
  await shoot('sign-in');
  await page.type('#api-key', apiKey);
  await page.keyboard.press('Enter'); // the form works from the keyboard
  await page.waitForSelector('#create-node');
  const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('vivim.apiKey') !== null, local: localStorage.length, cookies: document.cookie, url: location.href }));
  if (!stored.session || stored.local !== 0 || stored.cookies !== '' || stored.url.includes(apiKey)) throw new Error(`the key is kept wrongly: ${JSON.stringify(stored)}`);
  step('signed-in');
  await shoot('exit-nodes-empty');

  await page.locator('#create').click();
  await page.waitForSelector('#created a');
  const did = await page.$eval('#created a', (a) => a.textContent);
  await page.waitForSelector(`#nodes tr[data-did="${did}"] .verify[data-verified="true"]`);
  // Every cell shows its value, zero too (a new node's head is 0).
  const cells = await page.$eval(`#nodes tr[data-did="${did}"]`, (tr) => [...tr.cells].slice(1, 3).map((c) => c.textContent));
  if (cells[0] !== '0' || cells[1] !== '0') throw new Error(`a new exit node's head and clones read ${JSON.stringify(cells)}, not 0 and 0`);
  step('exit-node-created', { did });
  await shoot('exit-nodes');

  const { cloneId } = await ask({ clone: did });
  await go(`#/node/${encodeURIComponent(did)}/clones`);
  await page.waitForSelector(`#clones tr[data-clone="${cloneId}"][data-connected="true"]`);
  const pending = await page.$eval(`#clones tr[data-clone="${cloneId}"]`, (tr) => tr.cells[6].textContent);
  if (!/^\d+$/.test(pending)) throw new Error(`the clone's pending updates read '${pending}', not a number`);
  step('clone-connected', { cloneId });
  await shoot('clones');

  await go(`#/node/${encodeURIComponent(did)}`);
  await page.waitForSelector('#advert-status .verify[data-verified="true"]');
  await page.waitForSelector('#live.ok');
  const { head } = await ask({ writes: did });
  await page.waitForSelector(`#commit-log li[data-to="${head}"] .verify[data-verified="true"]`);
  await page.waitForFunction((h, id) => {
    const lags = JSON.parse(document.getElementById('lag-chart').dataset.lags || '{}');
    return document.getElementById('head-seq').textContent === String(h) && lags[id] === 0;
  }, {}, head, cloneId);
  const log = await page.$$eval('#commit-log li', (items) => items.map((li) => li.querySelector('.verify').dataset.verified));
  if (log.some((v) => v !== 'true')) throw new Error(`unverified commits in the log: ${log.join(',')}`);
  step('commits-settled', { head, commitsShown: log.length });
  await shoot('exit-node');

  await go(`#/node/${encodeURIComponent(did)}/documents`);
  await page.waitForSelector('#document-tree a');
  await page.focus('#document-tree a');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#proof-status .verify[data-verified="true"]');
  step('document-proof-verified', { path: await page.$eval('#document h2', (e) => e.textContent) });
  await shoot('document');

  await go(`#/node/${encodeURIComponent(did)}/events`);
  await page.waitForSelector('#events li[data-kind="registration-approved"]');
  await page.waitForSelector('#events li[data-kind="registration-denied"]');
  step('registration-events');
  await shoot('events');

  tamper = true;
  await go(`#/node/${encodeURIComponent(did)}`);
  await page.waitForSelector('#commit-log .verify[data-verified="false"]');
  const failure = await page.$eval('#commit-log .verify[data-verified="false"]', (e) => e.textContent);
  tamper = false;
  if (tampered === 0) throw new Error('the proxy changed nothing');
  step('tampering-detected', { failure });
  await shoot('exit-node-tampered');

  await go(`#/node/${encodeURIComponent(did)}/clones`);
  await page.waitForSelector(`#clones tr[data-clone="${cloneId}"] button.suspend`);
  await page.locator(`#clones tr[data-clone="${cloneId}"] button.suspend`).click();
  await page.waitForSelector('#confirm[open]');
  await shoot('confirm-suspend');
  await page.locator('#confirm-ok').click();
  await page.waitForSelector(`#clones tr[data-clone="${cloneId}"][data-trust="suspended"]`);
  const { closed } = await ask({ suspended: cloneId });
  await page.waitForSelector(`#clones tr[data-clone="${cloneId}"][data-trust="suspended"][data-connected="false"]`);
  step('clone-suspended', { sessionClosed: closed });
  await shoot('clones-suspended');

  verdict.ok = true;
} catch (e) {
  verdict.error = String(e?.stack ?? e);
} finally {
  await browser.close();
  proxy.close();
  rmSync(profile, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(verdict) + '\n');
  process.exit(0);
}
