/**
 * The far end of measureReadCost (measure-reads.ts), in a process of its own
 * so that its CPU is not the measured one: it sends the bursts whose reads
 * the parent times. `clients`: it opens sockets to the parent's server;
 * `server`: it serves the parent's clients. Then, per `burst` message, it
 * writes `bursts` bursts of 100 frames, one every `everyMs`: `spread`, one
 * frame to each of 100 sockets (100 reads a burst at the far end); `bunched`,
 * ten frames to each of 10 sockets in one write each (10 reads a burst).
 */
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';

type Command =
  | { type: 'clients'; url: string; sockets: number }
  | { type: 'server'; sockets: number }
  | { type: 'burst'; mode: 'spread' | 'bunched'; bursts: number; everyMs: number; frame: string };

const peers: WebSocket[] = [];
const send = (m: object) => process.send!(m);

function burst(mode: 'spread' | 'bunched', frame: string): void {
  if (mode === 'spread') {
    for (const ws of peers) ws.send(frame);
    return;
  }
  for (let s = 0; s < peers.length / 10; s++) {
    const socket = (peers[s] as unknown as { _socket: import('node:net').Socket })._socket;
    socket.cork();
    for (let i = 0; i < 10; i++) peers[s]!.send(frame);
    socket.uncork();
  }
}

process.on('message', (m: Command) => {
  if (m.type === 'clients') {
    for (let i = 0; i < m.sockets; i++) {
      const ws = new WebSocket(m.url, { perMessageDeflate: false });
      ws.on('open', () => {
        peers.push(ws);
        if (peers.length === m.sockets) send({ type: 'ready' });
      });
      ws.on('error', (err) => send({ type: 'error', message: err.message }));
    }
  } else if (m.type === 'server') {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      peers.push(ws);
      if (peers.length === m.sockets) send({ type: 'ready' });
    });
    wss.on('listening', () => send({ type: 'listening', url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` }));
  } else {
    let left = m.bursts;
    const timer = setInterval(() => {
      burst(m.mode, m.frame);
      if (--left === 0) {
        clearInterval(timer);
        send({ type: 'sent' });
      }
    }, m.everyMs);
  }
});
process.on('disconnect', () => process.exit(0));
