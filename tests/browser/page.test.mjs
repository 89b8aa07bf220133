// The operator page in headless Chromium, against real `spotlight serve`
// processes: candles drawn and the seq advancing, the stream cut by a
// proxy in this test and resumed with no gap or repeat, a replay started
// and stopped from the page's controls, a PIN sign-in (a wrong PIN shows
// the API's message), a screenshot kept in target/browser/, and no console
// error on the way; over HTTPS (the server's own TLS, HTTP/2) eight
// EventSources to one origin all receive where plaintext HTTP/1.1 lets
// only six, and the PIN sign-in works with `--env prod`'s cookie. Run by scripts/test after `cargo test` (which builds
// the binary); exits non-zero on the first failure.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(new URL('.', import.meta.url).pathname, '../..');
const bin = process.env.SPOTLIGHT_BIN || path.join(root, 'target/debug/spotlight');
const out = path.join(root, 'target/browser');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

const running = [];

function fail(message) {
  throw new Error(message);
}

// `spotlight serve ARGS` on a free port; resolves with its URL.
function serve(args, env = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['serve', '--addr', '127.0.0.1:0', ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.push(proc);
    let log = '';
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/listening on (https?:\/\/[\d.:]+)/);
      if (m) resolve({ url: m[1], proc });
    });
    proc.on('exit', (code) => reject(new Error(`serve exited (${code}): ${log}`)));
  });
}

// A TCP proxy to `url` whose connections the test can cut.
function proxy(url) {
  const target = new URL(url);
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      cut() {
        const n = sockets.size;
        for (const s of sockets) s.destroy();
        return n;
      },
      close() { server.close(); },
    }));
  });
}

async function until(what, check, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const seen = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.spotlight)));

function contiguous(seqs) {
  for (let i = 1; i < seqs.length; i += 1) {
    if (seqs[i] !== seqs[i - 1] + 1) return `${seqs[i - 1]} then ${seqs[i]}`;
  }
  return null;
}

async function openPage(browser, url, errors) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  await page.goto(`${url}/`);
  return page;
}

// A recording of SPY to replay: 90 minutes of 2011-01-03 from 14:30 UTC,
// NDJSON in the wire's bar shape.
const RECORDED_FROM = Date.UTC(2011, 0, 3, 14, 30);
const RECORDED_TO = RECORDED_FROM + 90 * 60 * 1000;
function recording() {
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, 'spy-recording.ndjson');
  const lines = [];
  for (let i = 0; i < 90; i += 1) {
    const o = 127 + Math.sin(i / 7);
    const c = o + Math.cos(i / 3) * 0.2;
    lines.push(JSON.stringify({
      symbol: 'SPY', tf: '1m', t: RECORDED_FROM + i * 60000, o, h: Math.max(o, c) + 0.1,
      l: Math.min(o, c) - 0.1, c, v: 1000 + i, final: true,
    }));
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function live(browser, errors) {
  const server = await serve(['--symbols', 'SPY', '--sim-speed', '60', '--tick-ms', '100', '--backfill', '1d',
    '--replay', `SPY=${recording()}`]);
  const relay = await proxy(server.url);
  const page = await openPage(browser, relay.url, errors);

  // Candles drawn from history, then the stream's bars.
  await until('history and live bars', async () => {
    const s = await seen(page);
    return s.state === 'live' && s.seqs.length >= 5;
  });
  const canvases = await page.locator('#chart canvas').count();
  if (canvases === 0) fail('no chart canvas');
  const before = await seen(page);
  if (before.bars < 100) fail(`only ${before.bars} bars drawn`);

  // The stream is cut: EventSource comes back with Last-Event-ID. The
  // browser logs the cut stream as a failed resource: that line, and only
  // it, is expected here.
  const logged = errors.length;
  const cut = relay.cut();
  if (cut === 0) fail('nothing to cut');
  await until('the stream to resume and go on', async () => {
    const s = await seen(page);
    return s.state === 'live' && s.seqs.length >= before.seqs.length + 20;
  });
  const fromCut = errors.splice(logged);
  const unexpected = fromCut.filter((e) => !/ERR_INCOMPLETE_CHUNKED_ENCODING|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE/.test(e));
  errors.push(...unexpected);
  const after = await seen(page);
  const gap = contiguous(after.seqs);
  if (gap) fail(`a gap or a repeat across the cut: ${gap}`);
  if (after.resets !== 0) fail('the cut caused a reset');
  console.log(`ok - resumed after the cut: ${after.seqs.length} seqs, none missing or repeated`);

  // Another timeframe: history again, then the stream from its seq.
  const loads = after.loads;
  await page.selectOption('#timeframe', '5m');
  await until('the 5m chart, live', async () => {
    const s = await seen(page);
    return s.loads > loads && s.timeframe === '5m' && s.state === 'live' && s.seqs.length >= 3
      && s.lastBarTime % (5 * 60 * 1000) === 0;
  });
  // On 5m a minute's final 1m event is an in-progress 5m update, which the
  // server conflates with the next minute's first one when both wait in
  // the stream's queue: the seqs rise, and may skip one there.
  const fiveMinute = await seen(page);
  if (fiveMinute.seqs.some((q, i) => i > 0 && q <= fiveMinute.seqs[i - 1])) {
    fail(`5m seqs out of order or repeated: ${fiveMinute.seqs}`);
  }
  await page.selectOption('#timeframe', '1m');
  await until('the 1m chart again', async () => {
    const s = await seen(page);
    return s.loads > loads + 1 && s.timeframe === '1m' && s.seqs.length >= 3;
  });
  console.log('ok - switching the timeframe refetched history and resubscribed');

  // A replay from the controls: the chart switches to the recorded bars.
  const liveTime = after.lastBarTime;
  const from = RECORDED_FROM;
  const to = RECORDED_TO;
  await page.fill('#replay-symbols', 'SPY');
  await page.fill('#replay-from', '2011-01-03T14:30:00Z');
  await page.fill('#replay-to', '');
  await page.fill('#replay-speed', '600');
  await page.click('#replay-start');
  await until('the replayed bars on the chart', async () => {
    const s = await seen(page);
    return s.replay && s.resets >= 1 && s.lastBarTime !== null
      && s.lastBarTime >= from + 20 * 60 * 1000 && s.lastBarTime < to && s.state === 'live';
  });
  const replayState = await page.textContent('#replay-state');
  if (!['running', 'finished'].includes(replayState)) fail(`replay state ${replayState}`);
  fs.mkdirSync(out, { recursive: true });
  await page.screenshot({ path: path.join(out, 'page-replay.png') });
  await page.click('#replay-stop');
  await until('live bars again', async () => {
    const s = await seen(page);
    return s.replay && s.replay.state === 'stopped' && s.resets >= 2 && s.lastBarTime >= liveTime;
  });
  console.log('ok - a replay started and stopped from the controls');
  await until('the triage panel', async () => (await page.textContent('#diag')).includes('"ring"'));
  await page.screenshot({ path: path.join(out, 'page.png') });
  await page.close();
  relay.close();
  server.proc.kill('SIGTERM');
}

async function signIn(browser, errors) {
  const server = await serve(['--symbols', 'SPY', '--sim-speed', '60', '--tick-ms', '100', '--backfill', '2h'], {
    SPOTLIGHT_PIN: '246810',
  });
  const page = await openPage(browser, server.url, errors);
  await page.waitForSelector('#signin:not([hidden])');
  // A wrong PIN: the API's message, not a swallowed failure.
  page.on('console', () => {});
  await page.fill('#pin', '000000');
  await page.click('#signin button');
  await until('the refusal shown', async () => {
    const text = await page.textContent('#error');
    return text && text.length > 0;
  });
  await page.fill('#pin', '246810');
  await page.click('#signin button');
  await until('signed in and live', async () => {
    const s = await seen(page);
    return s.state === 'live' && s.bars > 0;
  });
  console.log('ok - signed in with the PIN; the session cookie carries the stream');
  await page.close();
  server.proc.kill('SIGTERM');
}

// A self-signed certificate for 127.0.0.1, made with openssl.
function certificate() {
  fs.mkdirSync(out, { recursive: true });
  const cert = path.join(out, 'cert.pem');
  const key = path.join(out, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-addext', 'basicConstraints=critical,CA:FALSE', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return ['--tls-cert', cert, '--tls-key', key];
}

// Eight EventSources to the server's origin from one page: how many
// receive, once the ones that do have each had 20 bars.
async function streamsOpen(context, url) {
  const page = await context.newPage();
  await page.goto(`${url}/api/healthz`);
  await page.evaluate(() => {
    window.counts = new Array(8).fill(0);
    window.sources = [];
    for (let i = 0; i < 8; i += 1) {
      const source = new EventSource('/realtime/sse?symbols=SPY');
      source.addEventListener('bar', () => { window.counts[i] += 1; });
      window.sources.push(source);
    }
  });
  const counts = await until('the receiving streams have 20 bars each', async () => {
    const c = await page.evaluate(() => window.counts);
    const receiving = c.filter((n) => n > 0);
    return receiving.length >= 6 && receiving.every((n) => n >= 20) ? c : null;
  });
  await page.evaluate(() => window.sources.forEach((s) => s.close()));
  await page.close();
  return counts.filter((n) => n > 0).length;
}

async function overHttps(browser, errors) {
  const args = ['--symbols', 'SPY', '--sim-speed', '60', '--tick-ms', '100', '--backfill', '2h'];
  const plain = await serve(args);
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const overHttp1 = await streamsOpen(context, plain.url);
  if (overHttp1 !== 6) fail(`over plaintext HTTP/1.1 ${overHttp1} of 8 streams received (the browser allows 6)`);
  plain.proc.kill('SIGTERM');
  const secure = await serve([...args, ...certificate(), '--env', 'prod'], { SPOTLIGHT_PIN: '24681357' });
  if (!secure.url.startsWith('https://')) fail(`not served over TLS: ${secure.url}`);
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  await page.goto(`${secure.url}/`);
  await page.waitForSelector('#signin:not([hidden])');
  await page.fill('#pin', '24681357');
  await page.click('#signin button');
  await until('signed in and live over HTTPS', async () => {
    const s = await seen(page);
    return s.state === 'live' && s.bars > 0;
  });
  const cookies = await context.cookies(secure.url);
  const session = cookies.find((c) => c.name === 'spotlight_session');
  if (!session || !session.secure || session.sameSite !== 'None') {
    fail(`the production session cookie is not Secure; SameSite=None: ${JSON.stringify(cookies)}`);
  }
  console.log('ok - PIN sign-in over HTTPS with --env prod: Secure; SameSite=None cookie, stream live');
  await page.close();
  // Signed in (the streams need the session), eight more streams.
  const overHttp2 = await streamsOpen(context, secure.url);
  if (overHttp2 !== 8) fail(`over HTTPS ${overHttp2} of 8 streams received`);
  console.log('ok - 8 EventSources to one origin: all 8 receive over HTTPS (HTTP/2), 6 over plaintext HTTP/1.1');
  await context.close();
  secure.proc.kill('SIGTERM');
}

async function main() {
  if (!fs.existsSync(bin)) fail(`${bin} is missing: run cargo build first`);
  if (!fs.existsSync(chromiumPath)) fail(`${chromiumPath} is missing: install the Debian package chromium`);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  try {
    await live(browser, errors);
    const signInErrors = [];
    await signIn(browser, signInErrors);
    // The wrong PIN's 401 is logged by the browser as a failed resource;
    // nothing else may be.
    const unexpected = signInErrors.filter((e) => !e.includes('401'));
    errors.push(...unexpected);
    // Before the sign-in the page's first requests are answered 401.
    const httpsErrors = [];
    await overHttps(browser, httpsErrors);
    errors.push(...httpsErrors.filter((e) => !e.includes('401')));
  } finally {
    await browser.close();
    for (const p of running) p.kill('SIGKILL');
  }
  if (errors.length) fail(`console errors:\n${errors.join('\n')}`);
  console.log(`ok - no console errors; screenshots in ${out}`);
}

main().catch((e) => {
  for (const p of running) p.kill('SIGKILL');
  console.error(`not ok - ${e.message}`);
  process.exit(1);
});
