import { TokenIssuer } from '../auth/tokens.ts';
import { VirtualClock } from '../clock/clock-virtual.ts';
import type { ServerFrame } from '../protocol/frames.ts';
import { SeededRandom } from '../random/random.ts';
import { flush } from './harness.ts';
import { memoryPorts, makePortFaults, type MemoryPorts, type PortFaults } from '../worlds/memory-ports.ts';
import { ChatNode } from '../node/chat-node.ts';
import type { ChatNodeOptions } from '../node/options.ts';
import type { ConnId, Transport } from '../node/ports.ts';

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
  const settle = async () => {
    for (let i = 0; i < 20; i++) await flush();
  };
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
