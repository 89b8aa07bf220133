// A plain WebSocket echo server on Node's `ws` (no protocol, no resume):
// the reference `spotlight bench voice --raw` measures spotlight's voice
// echo against (docs/benchmarks.md). Loopback only.
//   node bench/ws-echo/server.js PORT
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 8090);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.error(`ws echo listening on ws://127.0.0.1:${port}/`));
