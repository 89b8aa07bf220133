// The operator page: a reference client of the public API only —
// /api/history, then the stream from the history's seq (EventSource resumes
// with Last-Event-ID by itself), /api/replay/*, /api/diag, /api/auth/pin.
'use strict';

const $ = (id) => document.getElementById(id);

// What the page has seen, exposed for the browser test.
const seen = {
  state: 'connecting',
  epoch: null,
  lastSeq: null,
  seqs: [],
  bars: 0,
  lastBarTime: null,
  resets: 0,
  loads: 0,
  timeframe: null,
  replay: null,
  errors: [],
};
window.spotlight = seen;

let chart;
let candles;
let volume;
let stream = null;
let arrivals = [];
let lastBeat = null;
let latency = null;

async function api(path, options = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...options });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
  if (!res.ok) {
    const message = body && body.error ? body.error.message : `${res.status} ${res.statusText}`;
    const e = new Error(message);
    e.status = res.status;
    throw e;
  }
  return body;
}

function showError(e) {
  const box = $('error');
  box.textContent = e ? e.message : '';
  box.hidden = !e;
  if (e) seen.errors.push(e.message);
}

function post(path, body) {
  return api(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? '' : JSON.stringify(body),
  });
}

function point(b) {
  return { time: Math.floor(b.t / 1000), open: b.o, high: b.h, low: b.l, close: b.c };
}

function volumePoint(b) {
  return { time: Math.floor(b.t / 1000), value: b.v, color: b.c >= b.o ? '#2e7d5b' : '#8c3a3a' };
}

function setState(state) {
  seen.state = state;
  const conn = $('conn');
  conn.textContent = state;
  conn.className = state === 'live' ? '' : 'down';
}

function symbol() { return $('symbol').value; }
function timeframe() { return $('timeframe').value; }

// History first, then the stream from exactly where history ends.
async function load() {
  if (stream) stream.close();
  stream = null;
  const q = `symbol=${encodeURIComponent(symbol())}&timeframe=${timeframe()}&limit=500`;
  const history = await api(`/api/history?${q}`);
  candles.setData(history.bars.map(point));
  volume.setData(history.bars.map(volumePoint));
  seen.epoch = history.epoch;
  seen.lastSeq = history.seq;
  seen.seqs = [];
  seen.loads += 1;
  seen.timeframe = history.timeframe;
  seen.bars = history.bars.length;
  const last = history.bars[history.bars.length - 1];
  seen.lastBarTime = last ? last.t : null;
  $('epoch').textContent = history.epoch;
  $('seq').textContent = history.seq;
  connect(history);
}

function connect(history) {
  const q = `symbols=${encodeURIComponent(symbol())}&timeframe=${timeframe()}`
    + `&sinceSeq=${history.seq}&epoch=${history.epoch}`;
  const es = new EventSource(`/realtime/sse?${q}`, { withCredentials: true });
  stream = es;
  es.onopen = () => setState('live');
  es.onerror = () => { if (stream === es) setState('reconnecting'); };
  es.addEventListener('hello', (e) => {
    const hello = JSON.parse(e.data);
    seen.epoch = hello.epoch;
    $('epoch').textContent = hello.epoch;
    lastBeat = Date.now();
  });
  es.addEventListener('bar', (e) => {
    const b = JSON.parse(e.data);
    candles.update(point(b));
    volume.update(volumePoint(b));
    seen.lastSeq = b.seq;
    seen.seqs.push(b.seq);
    seen.bars += 1;
    seen.lastBarTime = b.t;
    latency = Date.now() - b.ts;
    lastBeat = Date.now();
    arrivals.push(lastBeat);
    $('seq').textContent = b.seq;
  });
  es.addEventListener('ping', () => { lastBeat = Date.now(); });
  es.addEventListener('replay', (e) => showReplay(JSON.parse(e.data)));
  es.addEventListener('reset', () => {
    seen.resets += 1;
    setState('reset');
    load().catch(showError);
  });
  es.addEventListener('shutdown', () => setState('reconnecting'));
}

function tick() {
  const now = Date.now();
  arrivals = arrivals.filter((t) => now - t < 5000);
  $('rate').textContent = (arrivals.length / 5).toFixed(1);
  $('latency').textContent = latency === null ? '–' : `${latency} ms`;
  $('heartbeat').textContent = lastBeat === null ? '–' : `${((now - lastBeat) / 1000).toFixed(1)} s ago`;
}

function showReplay(status) {
  seen.replay = status;
  $('replay-state').textContent = status.state;
  const total = status.progress.total || 1;
  $('replay-progress').value = status.progress.done / total;
}

function instant(text) {
  const t = text.trim();
  if (!t) return undefined;
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

function wireReplay() {
  const run = (p) => p.then(showReplay).then(() => showError(null)).catch(showError);
  $('replay-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const symbols = $('replay-symbols').value.split(',').map((s) => s.trim()).filter(Boolean);
    run(post('/api/replay/start', {
      symbols: symbols.length ? symbols : undefined,
      from: instant($('replay-from').value),
      to: instant($('replay-to').value),
      speed: Number($('replay-speed').value),
    }));
  });
  $('replay-pause').addEventListener('click', () => run(post('/api/replay/pause')));
  $('replay-resume').addEventListener('click', () => run(post('/api/replay/resume')));
  $('replay-stop').addEventListener('click', () => run(post('/api/replay/stop')));
  $('replay-set-speed').addEventListener('click', () => run(post('/api/replay/speed', {
    speed: Number($('replay-speed').value),
  })));
}

async function diag() {
  try {
    const d = await api('/api/diag');
    $('diag').textContent = JSON.stringify({
      epoch: d.epoch, ring: d.ring, market: d.market, replay: d.replay,
      memory: d.memory, admission: d.admission, drain: d.drain, bus: d.bus,
      upstreams: d.upstreams, laggingClients: d.laggingClients,
    }, null, 1);
  } catch (e) {
    $('diag').textContent = e.message;
  }
}

// Everything that needs a session (with a PIN set: after signing in).
async function start() {
  const { symbols } = await api('/api/symbols');
  const select = $('symbol');
  const chosen = select.value;
  select.replaceChildren(...symbols.map((s) => new Option(s.symbol)));
  if (chosen) select.value = chosen;
  const status = await api('/api/replay/status');
  $('replay').hidden = false;
  showReplay(status);
  await load();
}

function signIn() {
  const form = $('signin');
  form.hidden = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/auth/pin', { pin: $('pin').value });
      form.hidden = true;
      showError(null);
      await start();
    } catch (err) {
      showError(err);
    }
  });
}

function main() {
  chart = LightweightCharts.createChart($('chart'), {
    autoSize: true,
    // The attribution is the page's own link (the logo would need an
    // inline style the page's policy refuses).
    layout: { background: { color: '#101418' }, textColor: '#d8dee4', attributionLogo: false },
    grid: { vertLines: { color: '#1c232a' }, horzLines: { color: '#1c232a' } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  candles = chart.addCandlestickSeries();
  volume = chart.addHistogramSeries({ priceFormat: { type: 'volume' }, priceScaleId: '' });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  $('symbol').addEventListener('change', () => load().catch(showError));
  $('timeframe').addEventListener('change', () => load().catch(showError));
  wireReplay();
  setInterval(tick, 500);
  // Progress moves between `replay` events (which come at changes only).
  setInterval(() => {
    if (seen.replay && seen.replay.state === 'running') {
      api('/api/replay/status').then(showReplay).catch(() => {});
    }
  }, 1000);
  diag();
  setInterval(diag, 5000);
  start().catch((e) => {
    if (e.status === 401) {
      setState('signed out');
      signIn();
    } else {
      showError(e);
    }
  });
}

main();
