// A plain WebSocket echo load on Node's `ws`: the other generator for the
// voice comparison (docs/benchmarks.md), so a result does not hang on one
// client's timing. SESSIONS connections each send a FRAME-byte binary
// frame every 1000/RATE ms for SECONDS, stamped with its send time; every
// echo is timed. Prints one JSON line. Loopback only; bounded in time.
//   node bench/ws-echo/load.js URL [SESSIONS] [RATE] [FRAME] [SECONDS]
'use strict';
const WebSocket = require('ws');

const [url, sessions = 500, rate = 50, frame = 640, seconds = 20] = process.argv
  .slice(2)
  .map((v, i) => (i === 0 ? v : Number(v)));
const rtts = [];
let sent = 0;
let echoed = 0;
let failed = 0;

function session() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => {
      if (!isBinary || data.length < 8) return; // a protocol's text messages
      const at = data.readDoubleLE(0);
      rtts.push(performance.now() - at);
      echoed += 1;
    });
    ws.on('open', () => resolve(ws));
    ws.on('error', () => {
      failed += 1;
      resolve(null);
    });
  });
}

async function main() {
  const sockets = (await Promise.all(Array.from({ length: sessions }, session))).filter(Boolean);
  const period = 1000 / rate;
  const timers = sockets.map((ws) =>
    setInterval(() => {
      const b = Buffer.alloc(frame);
      b.writeDoubleLE(performance.now(), 0);
      ws.send(b, { binary: true });
      sent += 1;
    }, period),
  );
  await new Promise((r) => setTimeout(r, seconds * 1000));
  timers.forEach(clearInterval);
  await new Promise((r) => setTimeout(r, 2000));
  sockets.forEach((ws) => ws.terminate());
  rtts.sort((a, b) => a - b);
  const q = (p) => (rtts.length ? Number(rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))].toFixed(3)) : null);
  console.log(
    JSON.stringify({
      sessions,
      connected: sockets.length,
      failed,
      sent,
      echoed,
      lost: sent - echoed,
      rttMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: q(1) },
    }),
  );
}

main();
