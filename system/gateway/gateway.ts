import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { AuthService } from '../auth/auth-service.ts';
import { AuthHttp, defaultAuthHttpOptions, type AuthHttpOptions } from './auth-http.ts';
import type { ChatNode } from '../node/chat-node.ts';
import type { ConnId, Transport } from '../node/ports.ts';
import { CloseCodes } from '../protocol/errors.ts';
import { ProtocolLimits } from '../protocol/frames.ts';
import { FrameTap } from './frame-tap.ts';
import { FrameWriter } from './frame-writer.ts';
import { LoopDelay } from './loop-delay.ts';
import { renderMetrics } from './metrics-http.ts';

/** Options of one gateway; the HTTP sign-in limits are AuthHttpOptions. Defaults are spread first; `resolveGatewayOptions` checks them. */
export interface GatewayOptions extends AuthHttpOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Server ping interval; a connection that answers nothing for 2 intervals is closed (idle). */
  heartbeatIntervalMs: number;
  /** A connection whose unsent bytes pass this is a slow consumer: closed with 4408, its messages stay in its inbox. */
  maxBufferedBytes: number;
  /** Frames larger than this get `too_large`; larger than twice this, ws closes with 1009. */
  maxFrameBytes: number;
  /** How often event-loop delay is fed to admission control. */
  loadSampleMs: number;
  /**
   * Wire tap (a test and debugging aid, see FrameTap): every frame in and out
   * is appended to `<frameTapDir>/<node id>.frames.jsonl`. Absent: off, at the
   * cost of one check per frame. A node process reads it from `CHATLAB_FRAME_TAP`.
   */
  frameTapDir?: string;
}

export const defaultGatewayOptions: GatewayOptions = {
  host: '127.0.0.1',
  port: 0,
  heartbeatIntervalMs: 15_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxFrameBytes: ProtocolLimits.maxFrameBytes,
  loadSampleMs: 500,
  ...defaultAuthHttpOptions,
};

export function resolveGatewayOptions(opts: Partial<GatewayOptions>): GatewayOptions {
  const o = { ...defaultGatewayOptions, ...opts };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'host' || k === 'frameTapDir') continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`gateway option ${k} must be a non-negative number, got ${v}`);
  }
  if (o.httpDiscardMaxBytes < o.httpBodyMaxBytes) throw new RangeError('httpDiscardMaxBytes must be >= httpBodyMaxBytes');
  for (const k of ['authPhoneBurst', 'authAddressBurst', 'authLimiterKeysMax'] as const) {
    if (o[k] < 1) throw new RangeError(`gateway option ${k} must be >= 1, got ${o[k]}`);
  }
  return o;
}

/** The ws/HTTP binding of one chat node: sockets in, frames to the core, frames out. */
export class Gateway implements Transport {
  readonly opts: GatewayOptions;
  private server?: Server;
  private wss?: WebSocketServer;
  private readonly sockets = new Map<ConnId, WebSocket>();
  private readonly alive = new Set<ConnId>();
  private nextConn = 1;
  /** Frames out, one write per socket per event-loop turn. */
  private readonly out = new FrameWriter();
  /** Every frame in and out, when `frameTapDir` is set. */
  private tap?: FrameTap;
  private timers: NodeJS.Timeout[] = [];
  /** Event-loop delay beyond the 20 ms sampling interval (an idle loop reads ~0). */
  private readonly loop = new LoopDelay(20);
  node!: ChatNode;
  private authHttp?: AuthHttp;
  /** Last accept error (EMFILE when the process ran out of file descriptors). */
  lastAcceptError?: string;

  constructor(opts: Partial<GatewayOptions> = {}, private readonly auth?: AuthService) {
    this.opts = resolveGatewayOptions(opts);
  }

  get url(): string {
    const a = this.server!.address() as AddressInfo;
    return `ws://${this.opts.host}:${a.port}/ws`;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  async listen(node: ChatNode): Promise<void> {
    this.node = node;
    if (this.opts.frameTapDir) this.tap = new FrameTap(this.opts.frameTapDir, node.id);
    if (this.auth) this.authHttp = new AuthHttp(this.auth, node.ports.clock, this.opts);
    const server = createServer((req, res) => void this.http(req, res));
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxFrameBytes * 2, clientTracking: false, perMessageDeflate: false });
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/ws')) return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    server.on('error', (err: NodeJS.ErrnoException) => this.acceptError(err));
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.wss = wss;
    this.loop.enable();
    this.timers.push(
      setInterval(() => this.ping(), this.opts.heartbeatIntervalMs).unref(),
      setInterval(() => {
        // The mean over the window: a sustained lag, not one long GC pause, should shed load.
        node.setEventLoopDelay(this.loop.meanMs());
        this.loop.reset();
      }, this.opts.loadSampleMs).unref(),
    );
  }

  private acceptError(err: NodeJS.ErrnoException): void {
    this.lastAcceptError =
      err.code === 'EMFILE' || err.code === 'ENFILE'
        ? `${err.code}: this process reached its open-file limit (hard limit 20,000 here); spread devices over more node processes (--world local --nodes N)`
        : `${err.code ?? ''} ${err.message}`;
    process.emitWarning(`gateway ${this.node.id}: ${this.lastAcceptError}`);
  }

  private accept(ws: WebSocket): void {
    const id = this.nextConn++;
    this.sockets.set(id, ws);
    this.alive.add(id);
    ws.on('pong', () => this.alive.add(id));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      // The core contains its own failures (ChatNode.onFrame); this guard keeps a fault here from ending the process.
      try {
        this.onMessage(id, data, isBinary);
      } catch {
        this.node.metrics.reject('internal');
        this.close(id, CloseCodes.internal, 'internal error');
      }
    });
    ws.on('close', () => {
      this.sockets.delete(id);
      this.alive.delete(id);
      this.node.onClose(id);
    });
    // A protocol error (a frame over maxPayload: 1009, invalid UTF-8: 1007, a malformed frame: 1002) makes ws
    // send its close frame and then emit 'error': cutting the socket now would drop that close frame (the peer
    // would see 1006). Cut it only if the close handshake does not finish.
    ws.on('error', () => setTimeout(() => ws.terminate(), 1000).unref());
    this.node.onOpen(id);
  }

  private onMessage(id: ConnId, data: RawData, isBinary: boolean): void {
    this.alive.add(id);
    const bytes = byteLength(data);
    this.tap?.record('in', id, isBinary ? '\u0000binary' : data.toString());
    if (isBinary) return this.node.onFrame(id, '\u0000binary');
    if (bytes > this.opts.maxFrameBytes) return this.node.onFrame(id, ' '.repeat(ProtocolLimits.maxFrameBytes + 1));
    this.node.onFrame(id, data.toString());
  }

  send(conn: ConnId, frame: string): void {
    const ws = this.sockets.get(conn);
    if (!ws || ws.readyState !== 1) return;
    this.tap?.record('out', conn, frame);
    if (this.out.send(ws, frame) > this.opts.maxBufferedBytes) {
      this.node.metrics.reject('slow_consumer');
      // The close frame queues behind what is buffered; close() cuts the socket if it never drains.
      this.close(conn, CloseCodes.slowConsumer, 'slow consumer');
    }
  }

  close(conn: ConnId, code: number, reason: string): void {
    const ws = this.sockets.get(conn);
    if (!ws) return;
    // Frames queued this turn go before the close frame.
    this.out.flush(ws);
    ws.close(code, reason.slice(0, 120));
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => ws.terminate(), 2000).unref();
  }

  private ping(): void {
    for (const [id, ws] of this.sockets) {
      if (!this.alive.has(id)) {
        this.node.metrics.idleCloses++;
        ws.close(CloseCodes.idle, 'idle');
        ws.terminate();
        continue;
      }
      this.alive.delete(id);
      ws.ping();
    }
  }

  /** Graceful: the core says goodbye to devices (1001), then the listener closes. */
  async stop(): Promise<void> {
    await this.node.stop();
    await this.shutdown(false);
  }

  /** Crash: every socket cut without a close frame, the core stops mid-flight. */
  async kill(): Promise<void> {
    this.node.kill();
    await this.shutdown(true);
  }

  private async shutdown(abrupt: boolean): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.loop.disable();
    for (const ws of this.sockets.values()) (abrupt ? ws.terminate() : ws.close(CloseCodes.goingAway, 'node stopping'));
    if (!abrupt) setTimeout(() => this.sockets.forEach((ws) => ws.terminate()), 1000).unref();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
    this.tap?.close();
  }

  private async http(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method === 'GET' && req.url === '/health') return json(res, 200, { node: this.node.id, alive: this.node.alive, connections: this.sockets.size });
      if (req.method === 'GET' && req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        return void res.end(await renderMetrics(this.node, this.sockets.size));
      }
      if (req.method === 'POST' && this.authHttp && (req.url === '/auth/request' || req.url === '/auth/verify')) return await this.authHttp.handle(req, res, req.url);
      json(res, 404, { code: 'not_found', message: `no route ${req.method} ${String(req.url).slice(0, 100)}` });
    } catch {
      if (!res.headersSent) json(res, 503, { code: 'unavailable', message: 'try again' });
    }
  }
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return (data as Buffer).byteLength;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
