import { TokenIssuer } from '../auth/tokens.ts';
import { VirtualClock } from '../clock/clock-virtual.ts';
import type { ServerFrame } from '../protocol/frames.ts';
import { SeededRandom } from '../random/random.ts';
import { flush } from './harness.ts';
import { memoryPorts, makePortFaults, type MemoryPorts, type PortFaults } from '../worlds/memory-ports.ts';
import { userOf, type DeviceId } from '../protocol/ids.ts';
import { ChatNode } from '../node/chat-node.ts';
import { ConnIndex } from '../node/conn-index.ts';
import { Connection, type SignedIn } from '../node/connection.ts';
import { Directory } from '../node/directory.ts';
import { NodeMetrics } from '../node/metrics.ts';
import type { NodeContext } from '../node/node-context.ts';
import { resolveNodeOptions, type ChatNodeOptions } from '../node/options.ts';
import type { ConnId, Transport } from '../node/ports.ts';
import { Snowflake } from '../node/snowflake.ts';

/** A transport that records frames per connection: the node core tested without sockets. */
export class RecordingTransport implements Transport {
  readonly frames = new Map<ConnId, ServerFrame[]>();
  readonly closed = new Map<ConnId, { code: number; reason: string }>();
  node?: ChatNode;

  send(conn: ConnId, frame: string): void {
    let list = this.frames.get(conn);
    if (!list) this.frames.set(conn, (list = []));
    list.push(JSON.parse(frame));
  }

  close(conn: ConnId, code: number, reason: string): void {
    if (this.closed.has(conn)) return;
    this.closed.set(conn, { code, reason });
    queueMicrotask(() => this.node?.onClose(conn));
  }

  of(conn: ConnId): ServerFrame[] {
    return this.frames.get(conn) ?? [];
  }

  take<T extends ServerFrame['t']>(conn: ConnId, t: T): Extract<ServerFrame, { t: T }>[] {
    return this.of(conn).filter((f) => f.t === t) as Extract<ServerFrame, { t: T }>[];
  }
}

export interface CoreCluster {
  clock: VirtualClock;
  ports: MemoryPorts;
  faults: PortFaults;
  tokens: TokenIssuer;
  nodes: { node: ChatNode; transport: RecordingTransport }[];
  /** Opens a connection on node `n`, says hello as `device`, and settles. */
  connect(device: string, n?: number): Promise<ConnId>;
  frame(conn: ConnId, frame: object, n?: number): Promise<void>;
  settle(): Promise<void>;
}

let nextConn = 1;

/** Lets promise chains started by an event run out (a store call is a few microtasks deep). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await flush();
}

/** N node cores over shared memory ports in virtual time, no sockets. */
export async function coreCluster(count = 1, opts: Partial<ChatNodeOptions> = {}): Promise<CoreCluster> {
  const clock = new VirtualClock();
  const faults = makePortFaults();
  const ports = memoryPorts(clock, new SeededRandom(7), faults);
  const tokens = new TokenIssuer('test-secret-of-enough-length', clock);
  const nodes: CoreCluster['nodes'] = [];
  for (let i = 0; i < count; i++) {
    const transport = new RecordingTransport();
    const node = new ChatNode({ ...opts, nodeId: `n${i + 1}`, nodeNumber: i + 1 }, ports, tokens, transport);
    transport.node = node;
    await node.start();
    nodes.push({ node, transport });
  }
  const frame = async (conn: ConnId, f: object, n = 0) => {
    nodes[n]!.node.onFrame(conn, JSON.stringify(f));
    await settle();
  };
  return {
    clock, ports, faults, tokens, nodes, settle, frame,
    async connect(device, n = 0) {
      const conn = nextConn++;
      const t = nodes[n]!.transport;
      nodes[n]!.node.onOpen(conn);
      await frame(conn, { t: 'hello', token: tokens.issue(device, 3600_000) }, n);
      // A device's first sign-in with other nodes alive waits out their directory caches (newDeviceFence).
      for (let i = 0; i < 10 && t.take(conn, 'welcome').length === 0 && !t.closed.has(conn); i++) {
        clock.advance(500);
        await settle();
      }
      return conn;
    },
  };
}

/**
 * A NodeContext of its own for building one part of a node without the
 * node: memory ports in virtual time, frames recorded per connection, and
 * liveness and load that a test sets.
 */
export interface PartContext extends NodeContext {
  readonly ports: MemoryPorts;
  readonly clock: VirtualClock;
  /** Frames sent per connection (reply and sendRaw alike), decoded. */
  readonly frames: Map<ConnId, ServerFrame[]>;
  readonly closed: Map<ConnId, { code: number; reason: string }>;
  /** What `failed` was told, in order. */
  readonly failures: { conn: ConnId; err: unknown }[];
  isAlive: boolean;
  level: 0 | 1 | 2;
  /** Opens a connection for `device` here, signed in and welcomed, and indexes it. */
  signedIn(device: DeviceId): SignedIn;
  of(conn: ConnId): ServerFrame[];
}

export function partContext(opts: Partial<ChatNodeOptions> = {}): PartContext {
  const clock = new VirtualClock();
  const ports = memoryPorts(clock, new SeededRandom(7));
  const o = resolveNodeOptions({ ...opts, nodeId: 'n1', nodeNumber: 1 });
  const frames = new Map<ConnId, ServerFrame[]>();
  const record = (c: Connection, f: ServerFrame) => {
    if (c.closed) return;
    let list = frames.get(c.id);
    if (!list) frames.set(c.id, (list = []));
    list.push(f);
  };
  const ctx: PartContext = {
    ports, clock, frames, closed: new Map(), failures: [], isAlive: true, level: 0,
    opts: o, metrics: new NodeMetrics(), directory: new Directory(ports, o.directoryCacheMs), ids: new Snowflake(clock, 1), connections: new ConnIndex(),
    alive: () => ctx.isAlive,
    loadLevel: () => ctx.level,
    reply: record,
    sendRaw: (c, text) => record(c, JSON.parse(text)),
    close: (conn, code, reason) => void ctx.closed.set(conn, { code, reason }),
    failed: (c, err) => void ctx.failures.push({ conn: c.id, err }),
    signedIn(device) {
      const c = new Connection(nextConn++, clock.now()).signIn(userOf(device), device);
      c.state = 'ready';
      ctx.connections.open.set(c.id, c);
      ctx.connections.add(c);
      return c;
    },
    of: (conn) => frames.get(conn) ?? [],
  };
  return ctx;
}
