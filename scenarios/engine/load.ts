import { parseDuration } from '../../system/clock/duration.ts';
import type { Random } from '../../system/random/random.ts';
import type { PickContext, Scenario } from '../scenario.ts';
import type { Population } from '../population.ts';
import type { VirtualDevice } from '../device/device.ts';
import type { DeviceLedger } from './device-ledger.ts';
import type { Clock, TimerHandle } from '../../system/clock/clock.ts';
import { Arrivals } from './schedule.ts';
import { mediaMessage, type UploadedMedia } from '../device/media.ts';
import { pickMedia } from '../media-kinds.ts';
import { loadEndMs } from '../validate.ts';

/** What the load needs from the engine hosting it (a live driver worker, or the sim engine). */
export interface LoadHost {
  config: { worker: number; workers: number };
  scenario: Scenario;
  population: Population;
  recorder: Pick<DeviceLedger, 'willSend' | 'onSettled' | 'onError'>;
  devices: { has(dev: number): boolean; get(dev: number): { device: VirtualDevice } | undefined; keys(): Iterable<number> };
  clock: { now(): number };
  t0: number;
  /** Timers of the load's schedule; default: the process's own (wall time). */
  timers?: Pick<Clock, 'setTimeout' | 'setInterval' | 'clear'>;
  /**
   * Virtual time: fire every arrival by its own timer at its intended time.
   * Otherwise (wall time, and the sim with the driver's timers modeled) one
   * timer per executor waits for the next arrival and fires every arrival
   * then due: a timer wakes up to ~1 ms late, and a busy worker later still,
   * which the report shows as the send lag.
   */
  exactArrivals?: boolean;
  /** Online senders kept by the host (sim: incrementally, for millions of devices); default: a filter every 50 ms. */
  onlineSenders?(): readonly number[];
  /** Told before the timeline backgrounds (true) or foregrounds (false) a device. */
  onBackground?(dev: number, offline: boolean): void;
  /** Uploads media for a sender (`behaviour.uploads`); absent: the world has no media service, and uploads are refused before the run. */
  media?: MediaSender;
  /** Counts the stories the load asks devices to post and list. */
  stories?: { asked(kind: 'post' | 'list'): void };
}

/** The sender's side of uploaded media: `done` gets the reference, or undefined when the upload failed. */
export interface MediaSender {
  upload(device: string, kind: string, mime: string, bytes: number, done: (media: UploadedMedia | undefined) => void): void;
  /** Forwards media received: the service is asked for the object by its SHA-256 (answered "already stored", nothing moves); undefined when it is gone. */
  forward(device: string, media: UploadedMedia, done: (media: UploadedMedia | undefined) => void): void;
}

const processTimers: Pick<Clock, 'setTimeout' | 'setInterval' | 'clear'> = {
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The standard normal's 90th percentile. */
const Z90 = 1.2815515655446004;
/** The nodes' ring timeout when the scenario does not set one (the node's default). */
export const DEFAULT_RING_MS = 45_000;

/** A standard normal draw (Box–Muller) from the load's seeded random. */
function gaussian(r: Random): number {
  const u = 1 - r.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
}

const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor '.repeat(1000);

/**
 * Runs a worker's share of the load: open-model executors fire at their
 * intended times (a send that finds no online sender is a dropped
 * iteration, as in k6); constant-vus devices loop send -> ack -> think;
 * timeline events background, wake or drop devices at their times.
 */
export class Load {
  dropped = 0;
  private msgCounter = 0;
  /** The wall-time timer of each open executor, waiting for its next arrival. */
  private readonly waits = new Map<{ arrivals: Arrivals; exec: string }, TimerHandle>();
  private readonly timeouts: TimerHandle[] = [];
  private readonly timers: Pick<Clock, 'setTimeout' | 'setInterval' | 'clear'>;
  private readonly open: { arrivals: Arrivals; exec: string }[] = [];
  private readonly offlineCohorts = new Map<string, number[]>();
  private readonly mine: number[];
  private readonly offlineDevices = new Set<number>();
  /** Closed-loop VUs waiting for their message to be acked (or to fail), by msgKey. */
  private readonly vuWaits = new Map<number, () => void>();
  /** When the load ends, on its own clock (from t0). */
  private readonly loadEnd: number;
  /**
   * What every iteration's PickContext shares, built once: closures and the
   * group list made per iteration were garbage for every message.
   */
  private readonly pickBase: Omit<PickContext, 'onlineSenders' | 'nowMs'>;

  constructor(private readonly host: LoadHost, private readonly random: Random) {
    this.timers = host.timers ?? processTimers;
    const { population } = host;
    this.pickBase = {
      random,
      userOf: (d) => population.userOf(d),
      userId: (u) => population.userId(u),
      contactsOf: (u) => population.contactsOf(u),
      groupsOf: (u) => population.groupsOf(u),
      groups: population.groups.map((g) => g.gid),
      offlineUsers: (cohort = 'offline') => this.offlineCohorts.get(cohort) ?? [],
    };
    this.mine = [...host.devices.keys()];
    const { scenario, config } = host;
    this.loadEnd = loadEndMs(scenario);
    for (const [name, ex] of Object.entries(scenario.options.scenarios)) {
      const exec = ex.exec ?? 'chat';
      if (!scenario.exec[exec]) throw new Error(`executor ${name}: no behaviour "${exec}" in scenario.exec`);
      if (ex.executor !== 'constant-vus') this.open.push({ arrivals: new Arrivals(ex, config.worker, config.workers), exec });
      else host.recorder.onSettled = (k) => this.settled(k);
    }
  }

  private now(): number {
    return this.host.clock.now() - this.host.t0;
  }

  start(): void {
    const { scenario } = this.host;
    for (const o of this.open) (this.host.exactArrivals ? this.armNext(o) : this.waitNext(o));
    for (const ev of scenario.timeline) {
      const at = parseDuration(ev.at, 'timeline at');
      this.later(at, () => this.applyEvent(ev.action, ev.share, ev.cohort ?? ev.action, ev.windowMs ?? 0));
    }
    for (const [, ex] of Object.entries(scenario.options.scenarios)) {
      if (ex.executor !== 'constant-vus') continue;
      const start = parseDuration(ex.startTime ?? '0s');
      const end = start + parseDuration(ex.duration);
      const vus = this.mine.slice(0, Math.ceil(ex.vus / this.host.config.workers));
      this.later(start, () => vus.forEach((d) => this.loopVu(d, ex.exec ?? 'chat', end, ex.thinkTimeMs ?? 0)));
    }
  }

  stop(): void {
    for (const t of this.waits.values()) this.timers.clear(t);
    this.waits.clear();
    for (const t of this.timeouts) this.timers.clear(t);
    this.timeouts.length = 0;
    this.stopped = true;
  }

  private stopped = false;

  private later(atMs: number, fn: () => void): void {
    this.timeouts.push(this.timers.setTimeout(fn, Math.max(0, atMs - this.now())));
  }

  /** Virtual time: one timer per arrival, at its intended time (no timer list kept: millions of them). */
  private armNext(o: { arrivals: Arrivals; exec: string }): void {
    const at = o.arrivals.next();
    if (at === undefined) return;
    this.timers.setTimeout(() => {
      if (this.stopped) return;
      this.fire(o.exec, at);
      this.armNext(o);
    }, Math.max(0, at - this.now()));
  }

  /**
   * Wall time: fires every arrival already due (never one before its time:
   * a send ahead of its intended time would shorten the latency measured
   * from it), then sleeps until the next one.
   */
  private waitNext(o: { arrivals: Arrivals; exec: string }): void {
    if (this.stopped) return;
    const now = this.now();
    let at = o.arrivals.peek();
    for (; at !== undefined && at <= now; at = o.arrivals.peek()) {
      o.arrivals.next();
      this.fire(o.exec, at);
    }
    if (at === undefined) return void this.waits.delete(o);
    this.waits.set(o, this.timers.setTimeout(() => this.waitNext(o), at - this.now()));
  }

  /** One iteration: the behaviour picks sender and recipient; the device sends (and retries) by itself. Returns its msgKey, if any. */
  private fire(exec: string, intendedMs: number, onlyFrom?: number): number | undefined {
    const { scenario, recorder, devices, t0, config } = this.host;
    const ctx = this.context(onlyFrom);
    const pick = scenario.exec[exec]!(ctx);
    if (!pick || !devices.has(pick.from)) {
      this.dropped++;
      return undefined;
    }
    if (pick.action === 'call') return void this.call(pick.from);
    if (pick.action) return void this.story(pick.action, pick.from);
    const msgKey = this.msgCounter++ * config.workers + config.worker;
    const { min, max } = scenario.behaviour.bodyBytes;
    const size = min + this.random.int(Math.max(1, max - min + 1));
    const media = scenario.behaviour.media;
    const mediaBytes = media && this.random.next() < media.share ? media.bytes.min + this.random.int(Math.max(1, media.bytes.max - media.bytes.min + 1)) : 0;
    recorder.willSend(msgKey, pick.from, pick.to);
    const device = devices.get(pick.from)!.device;
    const uploads = scenario.behaviour.uploads;
    if (uploads && this.host.media && this.random.next() < uploads.share) {
      // The upload comes first; its time counts in the message's latency (intended send to media downloaded).
      const m = pickMedia(uploads.kinds, this.random.next(), this.random.next());
      const fired = this.host.clock.now();
      this.host.media.upload(device.id, m.kind, m.mime, m.bytes, (ref) => {
        if (ref) device.send(pick.to, mediaMessage(FILLER.slice(0, size), { ...ref, hop: 0 }), msgKey, t0 + intendedMs, 0, fired);
        else recorder.onError('media_upload_failed', msgKey, this.host.clock.now(), false);
      });
      return msgKey;
    }
    device.send(pick.to, FILLER.slice(0, size), msgKey, t0 + intendedMs, mediaBytes);
    return msgKey;
  }

  /**
   * A story action: post one (text, or uploaded media as often as
   * `behaviour.uploads.share` says) for the poster's contacts, or list the
   * stories of the users who have this device's user as a contact and view
   * the new ones.
   */
  private story(action: 'story-post' | 'story-view', dev: number): void {
    const { scenario, population, devices } = this.host;
    const device = devices.get(dev)!.device;
    const user = population.userOf(dev);
    if (action === 'story-view') {
      this.host.stories?.asked('list');
      return device.viewStories(population.contactOfUsers(user).map((u) => population.userId(u)));
    }
    this.host.stories?.asked('post');
    const audience = population.contactsOf(user).map((u) => population.userId(u));
    const { min, max } = scenario.behaviour.bodyBytes;
    const text = FILLER.slice(0, min + this.random.int(Math.max(1, max - min + 1)));
    const uploads = scenario.behaviour.uploads;
    if (!uploads || !this.host.media || this.random.next() >= uploads.share) return device.postStory(text, audience);
    const m = pickMedia(uploads.kinds, this.random.next(), this.random.next());
    this.host.media.upload(device.id, m.kind, m.mime, m.bytes, (ref) => {
      if (ref) device.postStory(mediaMessage(text, ref), audience);
    });
  }

  /**
   * A call (`behaviour.calls`): to one contact, or to a few for a group
   * call, audio or video, for a log-normal duration. The duration is cut
   * so the call ends by the middle of the grace period: a call still going
   * when the run stops would count as failed for the run's own end.
   */
  private call(dev: number): void {
    const { scenario, population, devices } = this.host;
    const c = scenario.behaviour.calls;
    if (!c) return;
    const device = devices.get(dev)!.device;
    const contacts = population.contactsOf(population.userOf(dev));
    if (contacts.length === 0) return void this.dropped++;
    const group = c.groupShare !== undefined && this.random.next() < c.groupShare;
    const size = group ? Math.min(contacts.length, 2 + this.random.int(Math.max(1, (c.groupSize ?? 4) - 2))) : 1;
    const callees = new Set<string>();
    for (let i = 0; i < size * 4 && callees.size < size; i++) callees.add(population.userId(contacts[this.random.int(contacts.length)]!));
    const media = this.random.next() < c.videoShare ? 'video' : 'audio';
    const sigma = Math.log(c.durationS.p90 / c.durationS.median) / Z90;
    const sampled = Math.min(c.durationS.max, c.durationS.median * Math.exp(sigma * gaussian(this.random))) * 1000;
    const room = this.loadEnd + (scenario.graceMs ?? 0) / 2 - this.now() - (c.ringMs ?? DEFAULT_RING_MS) / 2;
    if (!device.placeCall([...callees], media, Math.max(1000, Math.min(sampled, room)))) this.dropped++;
  }

  /**
   * A device that got media may pass it on (`behaviour.uploads.forward`): to
   * one of its user's contacts, with the same object (nothing uploaded), up
   * to `hops` forwards along the chain.
   */
  maybeForward(dev: number, media: UploadedMedia): void {
    const { scenario, recorder, devices, population, config } = this.host;
    const forward = scenario.behaviour.uploads?.forward;
    const entry = devices.get(dev);
    const sender = this.host.media;
    // Only within the load: a forward sent in the grace period could not be judged fairly.
    if (this.stopped || !forward || !entry || !sender || this.now() >= this.loadEnd) return;
    if ((media.hop ?? 0) >= forward.hops || this.random.next() >= forward.share) return;
    const contacts = population.contactsOf(population.userOf(dev));
    for (let i = 0; i < Math.min(forward.fanout ?? 1, contacts.length); i++) {
      const to = population.userId(contacts[this.random.int(contacts.length)]!);
      const msgKey = this.msgCounter++ * config.workers + config.worker;
      const intended = this.host.clock.now();
      recorder.willSend(msgKey, dev, to);
      sender.forward(entry.device.id, media, (ref) => {
        if (ref) entry.device.send(to, mediaMessage('fwd', { ...media, hop: (media.hop ?? 0) + 1 }), msgKey, intended, 0, intended);
        else recorder.onError('media_forward_failed', msgKey, this.host.clock.now(), false);
      });
    }
  }

  /**
   * A closed-loop VU: sends, waits until that message is acked (or failed
   * for good), thinks, sends the next. Its throughput is set by the
   * cluster's answer time, which is what a saturation measurement wants.
   */
  private loopVu(dev: number, exec: string, endMs: number, thinkMs: number): void {
    const step = (): void => {
      if (this.stopped || this.now() >= endMs) return;
      const k = this.fire(exec, this.now(), dev);
      if (k === undefined) return void this.timers.setTimeout(step, 100);
      this.vuWaits.set(k, () => this.timers.setTimeout(step, thinkMs));
    };
    step();
  }

  private settled(msgKey: number): void {
    const next = this.vuWaits.get(msgKey);
    if (!next) return;
    this.vuWaits.delete(msgKey);
    next();
  }

  private context(onlyFrom?: number): PickContext {
    const b = this.pickBase;
    return {
      random: b.random, userOf: b.userOf, userId: b.userId, contactsOf: b.contactsOf, groupsOf: b.groupsOf, groups: b.groups, offlineUsers: b.offlineUsers,
      onlineSenders: onlyFrom !== undefined ? [onlyFrom] : this.onlineSenders(),
      nowMs: this.now(),
    };
  }

  private cachedSenders?: { at: number; list: number[] };

  private onlineSenders(): readonly number[] {
    if (this.host.onlineSenders) return this.host.onlineSenders();
    const now = this.now();
    if (this.cachedSenders && now - this.cachedSenders.at < 50) return this.cachedSenders.list;
    const list = this.mine.filter((d) => !this.offlineDevices.has(d) && this.host.devices.get(d)!.device.state === 'online');
    this.cachedSenders = { at: now, list };
    return list;
  }

  private applyEvent(action: 'offline' | 'online' | 'drop' | 'reinstall' | 'rotate-keys', share: number, cohort: string, windowMs: number): void {
    const { population, devices } = this.host;
    const users = [...population.cohort(cohort, share)].sort((a, b) => a - b);
    const mineInCohort = users.flatMap((u) => population.devicesOfUser(u)).filter((d) => devices.has(d));
    if (action === 'offline') this.offlineCohorts.set(cohort, users);
    if (action === 'online') this.offlineCohorts.delete(cohort);
    for (const d of mineInCohort) {
      const delay = windowMs > 0 ? this.random.next() * windowMs : 0;
      const device = devices.get(d)!.device;
      const act = () => {
        if (action === 'reinstall') return device.reinstall();
        if (action === 'rotate-keys') return device.rotateKeys();
        if (action !== 'drop') this.host.onBackground?.(d, action === 'offline');
        if (action === 'offline') {
          this.offlineDevices.add(d);
          device.goOffline();
        } else if (action === 'online') {
          this.offlineDevices.delete(d);
          device.comeOnline();
        } else device.drop();
      };
      if (delay === 0) act();
      else this.timeouts.push(this.timers.setTimeout(act, delay));
    }
    this.cachedSenders = undefined;
  }
}
