import { SeededRandom, hash32, hash32Pair, type Random } from '../system/random/random.ts';
import type { GroupSpec, Scenario } from './scenario.ts';

export interface PopulationGroup {
  gid: string;
  spec: GroupSpec;
  /** Member user indices from the population, in join order; the first is the owner. */
  members: number[];
  /** Phantom member ids (users with no devices). */
  phantoms: string[];
}

/**
 * The deterministic population of a run: users, their devices, contacts and
 * groups, all derived from (scenario, seed, run tag). Every driver worker
 * computes the same population, so a worker can tell which devices a message
 * is owed to without asking anyone.
 *
 * Device index d belongs to user floor(d / devicesPerUser) and is that
 * user's device number (d % devicesPerUser) + 1.
 */
export class Population {
  readonly users: number;
  readonly devices: number;
  readonly devicesPerUser: number;
  readonly groups: PopulationGroup[] = [];
  private readonly groupsByUser = new Map<number, string[]>();
  private readonly gidIndex = new Map<string, PopulationGroup>();
  private readonly contactsCount: number;

  constructor(scenario: Scenario, readonly seed: number, readonly tag: string) {
    this.userPrefix = `${tag}-u`;
    this.devicesPerUser = scenario.population.devicesPerUser;
    this.devices = scenario.population.devices;
    this.users = Math.ceil(this.devices / this.devicesPerUser);
    this.contactsCount = Math.min(scenario.social.contactsPerUser, this.users - 1);
    const random = new SeededRandom(seed).fork('groups');
    let g = 0;
    for (const spec of scenario.social.groups) {
      for (let i = 0; i < spec.count; i++, g++) this.addGroup(spec, g, random);
    }
  }

  private addGroup(spec: GroupSpec, index: number, random: Random): void {
    const phantomCount = Math.min(spec.phantomMembers ?? 0, spec.members);
    const real = Math.min(spec.members - phantomCount, this.users);
    const start = random.int(this.users);
    const members: number[] = [];
    for (let k = 0; k < real; k++) members.push((start + k) % this.users);
    const gid = `${this.tag}-g${index}`;
    const phantoms = Array.from({ length: phantomCount }, (_, k) => `${this.tag}-x${index}-${k}`);
    const group = { gid, spec, members, phantoms };
    this.groups.push(group);
    this.gidIndex.set(gid, group);
    for (const m of members) {
      let list = this.groupsByUser.get(m);
      if (!list) this.groupsByUser.set(m, (list = []));
      list.push(gid);
    }
  }

  userId(user: number): string {
    return `${this.tag}-u${user}`;
  }

  deviceId(dev: number): string {
    return `${this.userId(this.userOf(dev))}.${(dev % this.devicesPerUser) + 1}`;
  }

  userOf(dev: number): number {
    return Math.floor(dev / this.devicesPerUser);
  }

  /** Population index of a device id, or -1 for devices outside the population. */
  deviceIndex(device: string): number {
    // `<tag>-u<user>.<n>`, read digit by digit: a driver worker asks this for every receipt and push it hears.
    const u = this.digitsAt(device, this.userPrefix.length);
    if (u < 0 || !device.startsWith(this.userPrefix)) return -1;
    const dot = this.digitsEnd;
    if (device.charCodeAt(dot) !== 46) return -1;
    const n = this.digitsAt(device, dot + 1);
    if (n < 0 || this.digitsEnd !== device.length) return -1;
    const d = u * this.devicesPerUser + n - 1;
    return d < this.devices ? d : -1;
  }

  userIndex(user: string): number {
    const u = this.digitsAt(user, this.userPrefix.length);
    return u >= 0 && this.digitsEnd === user.length && user.startsWith(this.userPrefix) ? u : -1;
  }

  /** `<tag>-u`: what every user and device id of the population starts with. */
  private readonly userPrefix: string;
  /** Where the digits `digitsAt` read last ended. */
  private digitsEnd = 0;

  /** The decimal number of the digits from `at` (at least one), or -1; `digitsEnd` is set to just past them. */
  private digitsAt(s: string, at: number): number {
    let n = 0;
    let i = at;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
    }
    this.digitsEnd = i;
    return i > at ? n : -1;
  }

  devicesOfUser(user: number): number[] {
    const out: number[] = [];
    for (let d = this.firstDevice(user), end = this.deviceEnd(user); d < end; d++) out.push(d);
    return out;
  }

  /** A user's devices are `firstDevice(user)` ≤ d < `deviceEnd(user)` (the last user may have fewer). */
  firstDevice(user: number): number {
    return user * this.devicesPerUser;
  }

  deviceEnd(user: number): number {
    return Math.min(this.devices, (user + 1) * this.devicesPerUser);
  }

  /** A stable pseudo-random set of other users, the same on every worker. */
  contactsOf(user: number): number[] {
    const out: number[] = [];
    for (let j = 1; out.length < this.contactsCount && j < this.contactsCount * 4 + 4; j++) {
      const c = (user + 1 + (hash32Pair(user, j, this.seed) % (this.users - 1))) % this.users;
      if (c !== user && !out.includes(c)) out.push(c);
    }
    return out;
  }

  /** Users who have `user` among their contacts (built once, on first use): whose stories `user` may see. */
  contactOfUsers(user: number): number[] {
    if (!this.reverseContacts) {
      const rev: number[][] = Array.from({ length: this.users }, () => []);
      for (let u = 0; u < this.users; u++) for (const c of this.contactsOf(u)) rev[c]!.push(u);
      this.reverseContacts = rev;
    }
    return this.reverseContacts[user] ?? [];
  }

  private reverseContacts?: number[][];

  groupsOf(user: number): string[] {
    return this.groupsByUser.get(user) ?? [];
  }

  group(gid: string): PopulationGroup | undefined {
    return this.gidIndex.get(gid);
  }

  /** Devices owed a message from `senderDev` to `to` (a user id or 'g:<gid>'): recipients' devices and the sender's other devices. */
  recipients(senderDev: number, to: string): number[] {
    // Asked at every ack of a driver worker: no closure or Set per call (a group's members are distinct as built).
    const out: number[] = [];
    if (to.startsWith('g:')) {
      const members = this.group(to.slice(2))?.members;
      if (members) for (let i = 0; i < members.length; i++) this.addDevices(out, members[i]!, senderDev);
    } else {
      const user = this.userIndex(to);
      const senderUser = this.userOf(senderDev);
      this.addDevices(out, user, senderDev);
      if (senderUser !== user) this.addDevices(out, senderUser, senderDev);
    }
    return out;
  }

  private addDevices(out: number[], user: number, except: number): void {
    for (let d = this.firstDevice(user), end = this.deviceEnd(user); d < end; d++) if (d !== except) out.push(d);
  }

  private readonly cohorts = new Map<string, Set<number>>();

  /**
   * The users of a timeline cohort: exactly round(share × users) of them
   * (a share of 0.5 is half, not a coin flip per user that may land on 11 of
   * 40), the ones with the lowest hash of (cohort, user) — stable per seed
   * and cohort name, the same on every worker.
   */
  cohort(name: string, share: number): Set<number> {
    const key = `${name}\u0000${share}`;
    let set = this.cohorts.get(key);
    if (!set) {
      const size = Math.round(Math.min(1, Math.max(0, share)) * this.users);
      const ranked = Array.from({ length: this.users }, (_, u) => ({ u, h: hash32(`${name}:${u}`, this.seed) }));
      ranked.sort((a, b) => a.h - b.h || a.u - b.u);
      set = new Set(ranked.slice(0, size).map((r) => r.u));
      this.cohorts.set(key, set);
    }
    return set;
  }

  /** Whether a user is in a timeline cohort of the given share (see `cohort`). */
  inCohort(user: number, cohort: string, share: number): boolean {
    return this.cohort(cohort, share).has(user);
  }

  /**
   * Shard i of n (`chatlab run --shard i/n`) gets every user u with
   * u % n == i, with all of that user's devices (a user's devices stay in
   * one driver process: their sign-ins and sync are local to it); worker w
   * of `workers` within the shard gets every workers-th of those devices.
   */
  shardSlice(shard: number, shards: number, worker: number, workers: number): number[] {
    const mine: number[] = [];
    for (let u = shard; u < this.users; u += shards) for (let d = this.firstDevice(u), end = this.deviceEnd(u); d < end; d++) mine.push(d);
    return mine.filter((_, k) => k % workers === worker);
  }

  /** Worker w of n gets every n-th device: an even, deterministic split. */
  slice(worker: number, workers: number): number[] {
    const out: number[] = [];
    for (let d = worker; d < this.devices; d += workers) out.push(d);
    return out;
  }
}
