// The ceiling for bench:gateway: a bare ws relay that reads each frame's
// `to`, and forwards the frame to that socket. No auth, storage, acks or receipts.
import { WebSocketServer, type WebSocket } from 'ws';

const sockets = new Map<number, WebSocket>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, clientTracking: false, perMessageDeflate: false });
wss.on('connection', (ws) => {
  let me = -1;
  ws.on('message', (data) => {
    const text = data.toString();
    const f = JSON.parse(text) as { hello?: number; to?: number };
    if (f.hello !== undefined) {
      me = f.hello;
      sockets.set(me, ws);
      return;
    }
    sockets.get(f.to!)?.send(text);
  });
  ws.on('close', () => sockets.delete(me));
});
wss.on('listening', () => {
  const port = (wss.address() as { port: number }).port;
  process.send?.({ urls: [`ws://127.0.0.1:${port}/`] });
});
process.on('disconnect', () => process.exit(0));
