import WebSocket from 'ws';

/**
 * A bare connection of the engine's own (group setup, the witness) signed
 * in as docs/protocol.md says: `hello` with the token, answered by
 * `welcome`. Rejects, naming `who`, on an `error` frame, a close (e.g. 4401)
 * or a socket error before the welcome. The caller adds its own `message`
 * listener after.
 */
export function signIn(url: string, token: string, who: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const onFrame = (data: WebSocket.RawData) => {
      const f = JSON.parse(data.toString()) as { t?: string; code?: string; message?: string };
      if (f.t === 'welcome') {
        ws.off('message', onFrame);
        resolve(ws);
      } else if (f.t === 'error') {
        reject(new Error(`${who}: ${f.code}: ${f.message}`));
        ws.close();
      }
    };
    ws.on('message', onFrame);
    ws.once('error', reject);
    ws.once('close', (code, reason) => reject(new Error(`${who}: closed ${code} ${reason.toString()}`)));
    ws.once('open', () => ws.send(JSON.stringify({ t: 'hello', token })));
  });
}
