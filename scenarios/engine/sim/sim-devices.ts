import type { ClientFrame } from '../../../system/protocol/frames.ts';
import type { SimSocket } from '../../../system/worlds/sim/sim-transport.ts';
import type { SimWorld } from '../../../system/worlds/sim/sim-world.ts';
import type { VirtualDevice } from '../../device/device.ts';
import type { Population } from '../../population.ts';
import { groupMemberDevices, signInOnce } from '../group-members.ts';

/**
 * The devices that can send right now (authenticated and not backgrounded),
 * kept incrementally: a dense list with swap-remove and a position per
 * device, so picking a sender among millions is O(1) and the list never has
 * to be rebuilt. Order depends only on the sequence of changes, so it replays.
 */
export class OnlineSet {
  readonly list: number[] = [];
  private readonly pos: Int32Array;

  constructor(devices: number) {
    this.pos = new Int32Array(devices).fill(-1);
  }

  add(dev: number): void {
    if (this.pos[dev]! >= 0) return;
    this.pos[dev] = this.list.length;
    this.list.push(dev);
  }

  remove(dev: number): void {
    const i = this.pos[dev]!;
    if (i < 0) return;
    const last = this.list.pop()!;
    if (last !== dev) {
      this.list[i] = last;
      this.pos[last] = i;
    }
    this.pos[dev] = -1;
  }
}

/**
 * msgKey → mid, for naming a violating message: a mid is 18 hex digits (11 of
 * time, 7 of node and counter), kept as two numbers in growable typed arrays
 * (12 bytes per message) rather than millions of strings.
 */
export class MidIndex {
  private hi = new Float64Array(1024);
  private lo = new Uint32Array(1024);
  private known = new Uint8Array(1024);

  set(msgKey: number, mid: string): void {
    if (!/^[0-9a-f]{18}$/.test(mid)) return;
    while (msgKey >= this.hi.length) this.grow();
    this.hi[msgKey] = parseInt(mid.slice(0, 11), 16);
    this.lo[msgKey] = parseInt(mid.slice(11), 16);
    this.known[msgKey] = 1;
  }

  get(msgKey: number): string | undefined {
    if (msgKey >= this.hi.length || !this.known[msgKey]) return undefined;
    return this.hi[msgKey]!.toString(16).padStart(11, '0') + this.lo[msgKey]!.toString(16).padStart(7, '0');
  }

  /** Doubles while small; past a million keys by an eighth (13 bytes a key: doubling left up to half idle in a long run). */
  private grow(): void {
    const n = this.hi.length < 1 << 20 ? this.hi.length * 2 : Math.ceil(this.hi.length * 1.125);
    const hi = new Float64Array(n);
    hi.set(this.hi);
    const lo = new Uint32Array(n);
    lo.set(this.lo);
    const known = new Uint8Array(n);
    known.set(this.known);
    [this.hi, this.lo, this.known] = [hi, lo, known];
  }
}

/**
 * The population's devices by index, as the Load reads them. A sim cell
 * (cells.ts) holds only some of them, and plays only its own (`own`): the
 * Load picks senders and closed-loop VUs among those, while the timeline
 * also moves the cell's ghosts.
 */
export class DeviceTable {
  constructor(readonly all: (VirtualDevice | undefined)[], private readonly own?: (dev: number) => boolean) {}

  has(dev: number): boolean {
    return this.all[dev] !== undefined;
  }

  get(dev: number): { device: VirtualDevice } | undefined {
    const device = this.all[dev];
    return device ? { device } : undefined;
  }

  *keys(): Iterable<number> {
    for (let d = 0; d < this.all.length; d++) if (this.all[d] && (!this.own || this.own(d))) yield d;
  }
}

/**
 * A short-lived protocol client on a simulated socket, for setup (creating
 * the population's groups as their owners, as the live engine does over a
 * WebSocket). Requests resolve in virtual time; drive them with clock.settle.
 */
class SetupClient {
  private waiting: { t: string; resolve: (f: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  private opened?: () => void;

  constructor(private readonly socket: SimSocket) {
    socket.device = {
      onOpen: () => this.opened?.(),
      onFrame: (frame) => this.onFrame(frame as Record<string, unknown>),
      onClose: (code) => {
        for (const w of this.waiting.splice(0)) w.reject(new Error(`group setup: connection closed (${code})`));
      },
    };
  }

  async open(token: string): Promise<void> {
    await new Promise<void>((resolve) => {
      this.opened = resolve;
      this.socket.connect();
    });
    await this.request({ t: 'hello', token } as ClientFrame, 'welcome');
  }

  request(frame: object, t: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ t, resolve, reject });
      this.socket.sendFrame(frame as ClientFrame);
    });
  }

  close(): void {
    this.socket.close();
  }

  private onFrame(f: Record<string, unknown>): void {
    if (f.t === 'msg' || f.t === 'receipt') this.socket.sendFrame({ t: 'recv', ids: [String(f.mid ?? f.id)] });
    const w = this.waiting.find((x) => x.t === f.t || f.t === 'error');
    if (!w) return;
    this.waiting.splice(this.waiting.indexOf(w), 1);
    if (f.t === 'error') w.reject(new Error(`group setup failed: ${String(f.code)}: ${String(f.message)}`));
    else w.resolve(f);
  }
}

/** Creates the population's groups through the protocol on node 1, members in chunks of 1,000 (see setup-groups.ts). */
export async function setupGroupsSim(world: SimWorld, population: Population): Promise<void> {
  await signInOnce(groupMemberDevices(population), async (device) => {
    const client = new SetupClient(world.socketTo(0));
    await client.open(world.tokens.issue(device, 600_000));
    client.close();
  });
  for (const g of population.groups) {
    const owner = g.members[0];
    if (owner === undefined) continue;
    const device = population.deviceId(population.devicesOfUser(owner)[0]!);
    const users = [...g.members.map((u) => population.userId(u)), ...g.phantoms];
    const client = new SetupClient(world.socketTo(0));
    await client.open(world.tokens.issue(device, 600_000));
    try {
      const fanout = g.spec.fanout ?? (users.length > 256 ? 'read' : 'write');
      await client.request({ t: 'group.create', gid: g.gid, name: g.gid, members: users.slice(0, 1000), fanout }, 'group');
      for (let i = 1000; i < users.length; i += 1000) await client.request({ t: 'group.add', gid: g.gid, users: users.slice(i, i + 1000) }, 'group');
    } finally {
      client.close();
    }
  }
}
