import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DeviceId } from '../protocol/ids.ts';
import { PUSH_REASONS, type PushReason } from './push.ts';

/**
 * The push service (APNs/FCM stand-in) as a network service: nodes POST
 * wake-ups to `/wake` (or, in one process, call `relay` directly), and
 * device-side drivers hold a WebSocket on `/subscribe` and receive every
 * wake-up as `{t:'wake', device, reason}`, keeping those for their devices.
 * A batch with a wake that is not `{device, reason}` with a known reason
 * (PUSH_REASONS) is refused whole with 400.
 * At most once: a wake-up with no subscriber connected is counted and lost.
 */
export class PushService {
  private server?: Server;
  private readonly subscribers = new Set<WebSocket>();
  readonly stats = { wakes: 0, relayed: 0, unheard: 0 };

  async listen(port = 0, host = '127.0.0.1'): Promise<void> {
    const server = createServer((req, res) => {
      if (req.method !== 'POST' || req.url !== '/wake') {
        res.writeHead(404).end();
        return;
      }
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
        if (body.length > 1_000_000) req.destroy();
      });
      req.on('end', () => {
        try {
          const wakes = JSON.parse(body) as { device: DeviceId; reason: PushReason }[];
          if (!Array.isArray(wakes)) throw new Error('body must be an array of {device, reason}');
          // Checked whole before any is relayed: a refused batch wakes nobody.
          for (const w of wakes) {
            if (typeof w?.device !== 'string' || !PUSH_REASONS.includes(w.reason)) {
              throw new Error(`each wake must be {device: string, reason: ${PUSH_REASONS.join(' | ')}}`);
            }
          }
          for (const w of wakes) this.relay(w.device, w.reason);
          res.writeHead(204).end();
        } catch (e) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'bad_frame', message: (e as Error).message }));
        }
      });
    });
    const wss = new WebSocketServer({ server, path: '/subscribe', clientTracking: false });
    wss.on('connection', (ws) => {
      this.subscribers.add(ws);
      ws.on('close', () => this.subscribers.delete(ws));
      ws.on('error', () => ws.terminate());
    });
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    this.server = server;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get subscribeUrl(): string {
    return `ws://127.0.0.1:${this.port}/subscribe`;
  }

  relay(device: DeviceId, reason: PushReason): void {
    this.stats.wakes++;
    if (this.subscribers.size === 0) {
      this.stats.unheard++;
      return;
    }
    const frame = JSON.stringify({ t: 'wake', device, reason });
    for (const ws of this.subscribers) if (ws.readyState === 1) ws.send(frame);
    this.stats.relayed++;
  }

  async close(): Promise<void> {
    for (const ws of this.subscribers) ws.terminate();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
