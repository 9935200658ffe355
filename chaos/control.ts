import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChaosEntryInput } from './fault-schema.ts';
import type { World } from '../system/worlds/world.ts';
import { faultKinds } from './faults.ts';
import { applyPlanned, labelOf, planFault, wallTime, type ChaosTime } from './schedule.ts';

/** One fault on one target as `GET /faults` lists it; times are epoch ms. */
export interface ControlMark {
  /** The injection it belongs to (one injection marks each of its targets). */
  id: string;
  kind: string;
  target: string;
  startEpochMs: number;
  /** null while the fault is in place (or, without a duration, for good). */
  endEpochMs: number | null;
  /** Applying or reverting failed: the fault may be partly in place. */
  error?: string;
}

/** An injection as `POST /faults` accepts it and `GET /faults/:id` follows it. */
export interface Injection {
  id: string;
  kind: string;
  /** What each target's mark names (a node, a link, a store). */
  targets: string[];
  startMs: number;
  /** Every target has been reverted (or, without a duration, applied). */
  done: boolean;
  error?: string;
}

/** A request the control API refuses; nothing was applied. */
export class ControlError extends Error {
  readonly code: 'bad_request' | 'not_found' | 'unsupported_media_type' | 'too_large';
  readonly status: number;
  constructor(code: ControlError['code'], message: string) {
    super(message);
    this.name = 'ControlError';
    this.code = code;
    this.status = { bad_request: 400, not_found: 404, unsupported_media_type: 415, too_large: 413 }[code];
  }
}

export interface FaultDeskOptions {
  /** Marks kept for `GET /faults`; beyond it the oldest ended ones are dropped. */
  marksMax: number;
  /** Where applied and reverted faults are told (the `chatlab up` terminal). */
  log: (line: string) => void;
  time: ChaosTime;
}

/**
 * Injects faults into a running world on request, with the code a scenario's
 * schedule uses: validated by `planFault` (a fault the world cannot apply is
 * refused before anything happens), applied and reverted by `applyPlanned`.
 * Marks are kept on epoch time so a run in another process can place them
 * on its own clock.
 */
export class FaultDesk {
  private readonly marks: ControlMark[] = [];
  private readonly injections = new Map<string, Injection>();
  private nextId = 1;
  private readonly o: FaultDeskOptions;

  constructor(private readonly world: World, opts: Partial<FaultDeskOptions> = {}) {
    this.o = { marksMax: 10_000, log: () => {}, time: wallTime(0), ...opts };
  }

  /** Which fault kinds this world can apply, and why not the others. */
  supported(): { supported: { fault: string; description: string }[]; unsupported: { fault: string; reason: string }[] } {
    const supported: { fault: string; description: string }[] = [];
    const unsupported: { fault: string; reason: string }[] = [];
    for (const [fault, kind] of Object.entries(faultKinds)) {
      const missing = kind.needs.filter((c) => !this.world.control[c]);
      if (missing.length === 0) supported.push({ fault, description: kind.description });
      else unsupported.push({ fault, reason: `the ${this.world.kind} world has no ${missing.join(', ')}; ${kind.hint ?? 'another world can'}` });
    }
    return { supported, unsupported };
  }

  /** Validates a `POST /faults` body and applies it now; throws ControlError (nothing applied) when it cannot. */
  inject(body: unknown): Injection {
    const entry = toEntry(body);
    let planned;
    try {
      planned = planFault(entry, 'fault', this.world);
    } catch (err) {
      throw new ControlError('bad_request', (err as Error).message);
    }
    const id = `f${this.nextId++}`;
    const injection: Injection = {
      id, kind: entry.fault, targets: planned.targets.map((t) => labelOf(planned, this.world, t)), startMs: this.o.time.now(), done: false,
    };
    this.injections.set(id, injection);
    const open = new Map<string, ControlMark>();
    void applyPlanned(planned, this.world, this.o.time, {
      started: (kind, target, startMs) => {
        const m: ControlMark = { id, kind, target, startEpochMs: startMs, endEpochMs: null };
        open.set(target, m);
        this.push(m);
        this.o.log(`chaos ${id}: ${kind} ${target} applied`);
      },
      ended: (kind, target, _startMs, endMs) => {
        const m = open.get(target)!;
        open.delete(target);
        if (endMs === undefined) this.o.log(`chaos ${id}: ${kind} ${target} left in place (no duration)`);
        else {
          m.endEpochMs = endMs;
          this.o.log(`chaos ${id}: ${kind} ${target} reverted after ${((endMs - m.startEpochMs) / 1000).toFixed(1)}s`);
        }
      },
    }).catch((err: Error) => {
      injection.error = err.message;
      for (const m of open.values()) Object.assign(m, { error: err.message, endEpochMs: this.o.time.now() });
      this.o.log(`chaos ${id}: ${entry.fault} failed: ${err.message}`);
    }).finally(() => {
      injection.done = true;
    });
    return injection;
  }

  list(): ControlMark[] {
    return this.marks.map((m) => ({ ...m }));
  }

  get(id: string): Injection & { marks: ControlMark[] } {
    const i = this.injections.get(id);
    if (!i) throw new ControlError('not_found', `no fault ${id}`);
    return { ...i, marks: this.marks.filter((m) => m.id === id).map((m) => ({ ...m })) };
  }

  private push(m: ControlMark): void {
    this.marks.push(m);
    if (this.marks.length <= this.o.marksMax) return;
    const i = this.marks.findIndex((x) => x.endEpochMs !== null);
    this.marks.splice(i >= 0 ? i : 0, 1);
  }
}

/** A `POST /faults` body as a chaos entry applied now: `{ fault, target?, duration?, ...options }`; `planFault` checks its fields. */
function toEntry(body: unknown): ChaosEntryInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ControlError('bad_request', 'body must be a JSON object like {"fault":"node-kill","target":"node-2","duration":"10s"}');
  if ('at' in body) throw new ControlError('bad_request', 'at does not apply here: the fault is applied now');
  return { ...body, at: '0ms' } as ChaosEntryInput;
}

export interface ControlServerOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** What `GET /` answers besides the supported faults (no secrets: any local user can ask). */
  describe: () => Record<string, unknown>;
  /** Request bodies larger than this are refused (413). */
  bodyBytesMax: number;
  desk?: Partial<FaultDeskOptions>;
}

/**
 * The control API of a running cluster, on 127.0.0.1 only:
 * `GET /` (state and fault kinds), `POST /faults` (202 or 400, nothing
 * applied), `GET /faults` (every mark), `GET /faults/:id` (one injection).
 * POST must say `content-type: application/json`, so a web page cannot
 * inject faults with a simple cross-origin form post.
 */
export class ControlServer {
  readonly desk: FaultDesk;
  private constructor(private readonly server: Server, desk: FaultDesk) {
    this.desk = desk;
  }

  static async start(world: World, opts: Partial<ControlServerOptions> = {}): Promise<ControlServer> {
    const o: ControlServerOptions = { port: 0, describe: () => ({}), bodyBytesMax: 64 * 1024, ...opts };
    const desk = new FaultDesk(world, o.desk);
    const server = createServer((req, res) => {
      route(req, o, desk).then(
        ([status, body]) => send(res, status, body),
        (err: Error) => send(res, err instanceof ControlError ? err.status : 500, { error: err.message }),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, '127.0.0.1', () => resolve());
    });
    return new ControlServer(server, desk);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

async function route(req: IncomingMessage, o: ControlServerOptions, desk: FaultDesk): Promise<[number, unknown]> {
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  if (path === '/' && method === 'GET') return [200, { ...o.describe(), faults: desk.supported() }];
  if (path === '/faults' && method === 'GET') return [200, desk.list()];
  if (path === '/faults' && method === 'POST') {
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new ControlError('unsupported_media_type', 'POST /faults takes content-type: application/json');
    const text = await readBody(req, o.bodyBytesMax);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new ControlError('bad_request', `body is not JSON: ${(err as Error).message}`);
    }
    const i = desk.inject(body);
    return [202, { id: i.id, kind: i.kind, targets: i.targets, startMs: i.startMs }];
  }
  const one = /^\/faults\/([\w-]+)$/.exec(path);
  if (one && method === 'GET') return [200, desk.get(one[1]!)];
  throw new ControlError('not_found', `no ${method} ${path}; try GET /, GET /faults, POST /faults, GET /faults/<id>`);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Past the limit the rest is read and dropped, so the 413 still reaches the client.
      if (size > max) reject(new ControlError('too_large', `body over ${max} bytes`));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}
