import type { Clock, TimerHandle } from '../../../system/clock/clock.ts';
import type { ClientFrame } from '../../../system/protocol/frames.ts';
import { userOf, type DeviceId, type UserId } from '../../../system/protocol/ids.ts';
import { E2eeError, type DeviceCrypto, type FetchedBundleData } from './contract.ts';
import type { E2eeStats } from './e2ee-stats.ts';
import { Introductions } from './introductions.ts';

type Frame = Record<string, unknown>;

/** How a device runs end-to-end encryption; one object shared by every device built alike. */
export interface E2eeSetup {
  /** This device's crypto: a new identity each call (a second call is a reinstall). */
  crypto(deviceId: string): DeviceCrypto;
  /** Where every device of this process counts (see E2eeStats). */
  stats: E2eeStats;
  /** CPU clock in ms with sub-ms resolution (performance.now): what crypto costs is measured, not simulated. */
  cpuNow(): number;
  attachments: Attachments;
  /** One-time pre-keys published at a time (≤ 100). Default 20. */
  preKeyStock?: number;
  /** Replenish when the server holds fewer than this. Default 5. */
  preKeyLowWater?: number;
  /** False: no encryption (`--no-e2ee`); only the frames and bytes the devices write are counted, for comparison. */
  enabled: boolean;
  /**
   * Longest a group message waits for its sender's key distribution before
   * it counts as undecryptable. Default 10,000 ms: a distribution the bus
   * lost on its way is routed again by the node's redelivery
   * (`redeliverAfterMs` × 1.25, 2.5 s by default, plus an inbox read), so a
   * shorter wait would count as unreadable a message whose key is only late.
   */
  senderKeyWaitMs?: number;
}

/** What the end-to-end layer needs from its device. */
export interface E2eeLink {
  readonly id: DeviceId;
  readonly clock: Clock;
  online(): boolean;
  write(frame: ClientFrame): void;
  /** Transmit the pending send `cid` now (its frame can be built). */
  kick(cid: string): void;
  /** A group message held for its sender key is ready: decrypted, or given up (reason). */
  released(held: HeldMessage, plaintext: string | undefined, reason?: string): void;
}

/** A send the outbox holds, as the end-to-end layer sees it. */
export interface PendingSend {
  readonly cid: string;
  readonly to: string;
  readonly body: string;
  /** Bytes of a media attachment (0: none). */
  readonly mediaBytes: number;
}

/** Sealing and opening media attachments (Signal's attachment scheme in live devices; their cost only in the sim). */
export interface Attachments {
  /** Seals `bytes` of media under a fresh key: what travels inside the encrypted message. */
  seal(bytes: number): { key: string; digest: string; blob: string };
  /** Opens a sealed attachment; throws E2eeError('bad_mac' | 'malformed') when it does not verify. */
  open(blob: string, key: string, digest: string): void;
}

export interface HeldMessage {
  frame: Frame;
  atMs: number;
  /** What the device kept beside the frame (how it arrived). */
  meta: unknown;
}

/** How a plaintext with an attachment begins (see plaintextOf). */
const MEDIA_PREFIX = '{"text":';

/** A keys request (or publish, or group question) not answered within this long (refused by a rate limit, or lost with its connection) is asked again. */
const ANSWER_TIMEOUT_MS = 5000;
/** How long a group message waits for its sender key unless the setup says (E2eeSetup.senderKeyWaitMs). */
const SENDER_KEY_WAIT_MS = 10_000;
/** A user whose devices had published no bundle is asked again after this, when a message to them waits. */
const NO_KEYS_RETRY_MS = 500;
/** `keys.fetch` frames a device has on their way at once: a large group's bundles go a few frames at a time, within the keys rate limit. */
const FETCHES_IN_FLIGHT = 2;
/** A device the server names that its keys answer did not include (not published yet): fetch again after this. */
const UNPUBLISHED_RETRY_MS = 100;
/** How long a device the server names but that has no bundle yet is waited for; then sends go on without it (and the server says so). */
const AWAIT_PUBLISH_MS = 5000;
/** Users per `keys.fetch` frame (the protocol's bound). */
const USERS_PER_FETCH = 100;
/** Distribution bodies per `keys.distribute`: ~250 B each keeps a frame well under 64 KiB. */
const BODIES_PER_DISTRIBUTE = 150;
/** Pre-key messages received between two `keys.count` checks. */
const COUNT_EVERY = 5;

interface GroupState {
  version: string;
  devices: DeviceId[];
  /** Member devices holding this device's current sender key (their distribution was stored). */
  keyed: Set<DeviceId>;
  /** Distributions in flight: cid → the devices and when it went out. */
  inFlight: Map<string, { devices: DeviceId[]; at: number }>;
  asked: boolean;
  askedAt: number;
  /** A fan-out-on-read group is a channel: its messages go as plaintext (see docs/protocol.md, `group.devices`). */
  channel: boolean;
}

/**
 * A device's end-to-end layer (Signal-style): publishes and replenishes its
 * pre-keys, fetches its contacts' bundles and starts sessions before a
 * first message (X3DH), encrypts each message once per recipient device
 * (Double Ratchet) or once per group (sender keys, distributed pairwise to
 * every member device first), and decrypts what arrives. Protocol frames as
 * docs/protocol.md describes them: `keys.*`, `group.devices`, `skdm`, and
 * the `devices_changed` / `members_changed` answers that make the sender
 * refresh its view and resend.
 *
 * Guarantees: nothing leaves the device in plaintext; a delivery that cannot
 * be decrypted is reported with its reason, never dropped silently; every
 * wait (a keys answer, a distribution, a sender key) is bounded in time.
 */
export class E2eeClient {
  private crypto: DeviceCrypto;
  private published = false;
  private preKeyMessages = 0;
  /** Devices of each user as this device last learned them (own device excluded); a lone device is its id, not an array of one (a sim holds millions). */
  private readonly devicesOf = new Map<UserId, DeviceId | DeviceId[]>();
  /** Users to fetch: 0 while queued, else when the `keys.fetch` asking for them went out. */
  private fetching?: Map<UserId, number>;
  /** `keys.fetch` frames on their way. */
  private fetchesOut = 0;
  /** No keys request goes out before this (the node said rate_limited). */
  private keysPausedUntil = 0;
  /** When the unanswered publish went out (0: answered). */
  private publishedAt = 0;
  // `fetching` above and the collections below are built on first use (`??=`), and `fetching`, `built` and `waiting`
  // are let go again once empty (`without`): most devices of a large sim hold nothing in them most of the time, and
  // a Map costs ~180 bytes empty and keeps its grown table after its entries leave.
  private groups?: Map<string, GroupState>;
  /** Frames built for pending sends, reused by retries until the server says the recipients changed. */
  private built?: Map<string, ClientFrame>;
  /** Sends waiting for keys, group devices or distributions. */
  private waiting?: Map<string, PendingSend>;
  /** Group messages waiting for their sender's key: `${from} ${gid}` → messages. */
  private held?: Map<string, HeldMessage[]>;
  /** The mids of the held messages: a copy redelivered meanwhile is not a second message. */
  private heldMids?: Set<string>;
  /** Users whose last keys answer named no bundle, with when (see advance). */
  private noKeysAt?: Map<UserId, number>;
  /** Groups `prewarm` is distributing this device's sender key to. */
  private prewarming?: Set<string>;
  /** This device's introductions (`prewarm`); built on first use. */
  private intros?: Introductions;
  /** Devices the server named missing, with since when: their bundles are awaited. */
  private awaited?: Map<DeviceId, number>;
  private retryTimer: TimerHandle | undefined;
  private holdTimer: TimerHandle | undefined;
  /** The one timer that asks again for recipients whose keys answer named no bundle (see advance). */
  private noKeysTimer: TimerHandle | undefined;
  private noKeysDue = 0;
  private distributeCounter = 0;

  constructor(private readonly setup: E2eeSetup, private readonly link: E2eeLink) {
    this.crypto = setup.crypto(link.id);
  }

  get stats(): E2eeStats {
    return this.setup.stats;
  }

  private devicesOfUser(u: UserId): readonly DeviceId[] | undefined {
    const v = this.devicesOf.get(u);
    return typeof v === 'string' ? [v] : v;
  }

  private learn(u: UserId, ds: DeviceId[]): void {
    this.devicesOf.set(u, ds.length === 1 ? ds[0]! : ds);
  }

  /** The app was reinstalled: a new identity, no sessions; its new bundle is published at once (or at the next welcome). */
  reinstall(): void {
    this.crypto = this.setup.crypto(this.link.id);
    this.published = false;
    this.devicesOf.clear();
    this.groups?.clear();
    this.built = undefined;
    this.intros?.stop();
    this.intros = undefined;
    if (this.link.online()) this.publish();
  }

  /**
   * A new signed pre-key, published at once with fresh one-time pre-keys (or
   * at the next welcome when offline). The previous signed pre-key stays:
   * a contact that fetched the old bundle still starts its session from it.
   */
  rotateSignedPreKey(): void {
    this.crypto.rotateSignedPreKey();
    this.stats.counts.signedPreKeyRotations++;
    if (this.link.online()) this.publish();
    else this.published = false;
  }

  // ---- connection ----

  onWelcome(): void {
    if (!this.published) this.publish();
    else this.write({ t: 'keys.count' });
    this.retryWaiting();
  }

  private publish(): void {
    this.published = true;
    this.publishedAt = this.link.clock.now();
    this.stats.counts.bundlesPublished++;
    this.write({ t: 'keys.publish', bundle: this.crypto.bundle(this.setup.preKeyStock ?? 20) });
    this.armRetry();
  }

  // ---- sending ----

  /** The frame to transmit for a pending send, or undefined while keys, group devices or distributions are awaited (then `kick` follows). */
  frameFor(e: PendingSend): ClientFrame | undefined {
    const done = this.built?.get(e.cid);
    if (done) return done;
    const f = e.to.startsWith('g:') ? this.groupFrame(e, e.to.slice(2)) : this.directFrame(e, e.to);
    if (f) {
      (this.built ??= new Map()).set(e.cid, f);
      this.waiting = without(this.waiting, e.cid);
    } else (this.waiting ??= new Map()).set(e.cid, e);
    return f;
  }

  /** The send is over (acked or failed for good). */
  settled(cid: string): void {
    this.built = without(this.built, cid);
    this.waiting = without(this.waiting, cid);
  }

  private directFrame(e: PendingSend, to: UserId): ClientFrame | undefined {
    if (!this.advance(e)) return undefined;
    const me = userOf(this.link.id);
    const users = to === me ? [me] : [to, me];
    const t0 = this.setup.cpuNow();
    const plaintext = this.plaintextOf(e);
    const bodies: Record<string, string> = {};
    // The identity each session started from: the node refuses the send if a device has published another since.
    const identities: Record<string, string> = {};
    let bytes = 0;
    for (const u of users) {
      for (const d of this.devicesOfUser(u)!) {
        const c = this.crypto.encrypt(d, plaintext);
        bodies[d] = c;
        const id = this.crypto.sessionIdentity(d);
        if (id !== undefined) identities[d] = id;
        bytes += c.length;
      }
    }
    this.stats.encrypted((this.setup.cpuNow() - t0) * 1000, utf8Bytes(e.body) + e.mediaBytes, bytes);
    return { t: 'send', cid: e.cid, to, kind: 'e2e', bodies, identities };
  }

  private groupFrame(e: PendingSend, gid: string): ClientFrame | undefined {
    if (!this.advance(e)) return undefined;
    const g = this.groups!.get(gid)!;
    if (g.channel) {
      this.stats.counts.channelMessages++;
      return e.mediaBytes > 0 ? { t: 'send', cid: e.cid, to: e.to, body: plainMedia(e.body, e.mediaBytes), kind: 'media' } : { t: 'send', cid: e.cid, to: e.to, body: e.body };
    }
    const t0 = this.setup.cpuNow();
    const body = this.crypto.groupEncrypt(gid, this.plaintextOf(e));
    this.stats.encrypted((this.setup.cpuNow() - t0) * 1000, utf8Bytes(e.body) + e.mediaBytes, body.length);
    return { t: 'send', cid: e.cid, to: e.to, kind: 'e2e', body, members: g.version };
  }

  /** Sends this device's sender key for `gid` to `devices`, pairwise encrypted, in frames of a bounded size. */
  private distribute(gid: string, g: GroupState, devices: DeviceId[]): void {
    const skdm = this.crypto.senderKeyDistribution(gid);
    for (let i = 0; i < devices.length; i += BODIES_PER_DISTRIBUTE) {
      const bodies: Record<string, string> = {};
      const sent: DeviceId[] = [];
      for (const d of devices.slice(i, i + BODIES_PER_DISTRIBUTE)) {
        try {
          bodies[d] = this.crypto.encrypt(d, skdm);
          sent.push(d);
        } catch (err) {
          this.stats.failed(err instanceof E2eeError ? `distribute_${err.reason}` : 'distribute_failed');
        }
      }
      if (sent.length === 0) continue;
      // '-' never appears in a message's cid (formatCid): a distribution's answer cannot be taken for a send's.
      const cid = `sk-${(this.distributeCounter++).toString(36)}`;
      g.inFlight.set(cid, { devices: sent, at: this.link.clock.now() });
      this.stats.counts.senderKeysDistributed += sent.length;
      this.write({ t: 'keys.distribute', cid, gid, bodies });
    }
    // An answer that does not come (its connection lost) is waited for ANSWER_TIMEOUT_MS, then the distribution goes again.
    this.armRetry();
  }

  private askGroup(gid: string): void {
    const groups = (this.groups ??= new Map<string, GroupState>());
    let g = groups.get(gid);
    if (!g) groups.set(gid, (g = { version: '', devices: [], keyed: new Set(), inFlight: new Map(), asked: false, askedAt: 0, channel: false }));
    if (g.asked) return;
    g.asked = true;
    g.askedAt = this.link.clock.now();
    this.write({ t: 'group.devices', gid });
    this.armRetry();
  }

  /** Queues users whose bundles are needed; they are asked FETCHES_IN_FLIGHT frames at a time. */
  private fetch(users: UserId[]): void {
    for (const u of users) if (!this.fetching?.has(u)) (this.fetching ??= new Map()).set(u, 0);
    this.pumpFetches();
  }

  private pumpFetches(): void {
    const now = this.link.clock.now();
    if (!this.link.online() || now < this.keysPausedUntil) return this.armRetry();
    while (this.fetchesOut < FETCHES_IN_FLIGHT) {
      const chunk: UserId[] = [];
      for (const [u, at] of this.fetching ?? []) {
        if (at !== 0) continue;
        chunk.push(u);
        if (chunk.length === USERS_PER_FETCH) break;
      }
      if (chunk.length === 0) break;
      for (const u of chunk) this.fetching!.set(u, now);
      this.fetchesOut++;
      this.write({ t: 'keys.fetch', users: chunk });
    }
    this.armRetry();
  }

  /**
   * An error frame: true when it answers this layer's own request (a key
   * distribution, by its cid), which is then asked again. A `rate_limited`
   * without a cid may be a keys request's (they carry none): nothing more is
   * asked before `retryAfterMs`, and the unanswered request times out.
   */
  onError(cid: unknown, code: string, retryAfterMs: number | undefined): boolean {
    if (code === 'rate_limited' && retryAfterMs !== undefined) this.keysPausedUntil = Math.max(this.keysPausedUntil, this.link.clock.now() + retryAfterMs);
    if (this.intros?.onError(cid, retryAfterMs)) return true;
    if (typeof cid !== 'string' || !cid.startsWith('sk-')) return false;
    for (const g of this.groups?.values() ?? []) {
      if (!g.inFlight.delete(cid)) continue;
      // Sent again (to the devices still without the key) by the next advance, once the pause is over.
      this.link.clock.setTimeout(() => this.retryWaiting(), Math.max(retryAfterMs ?? 0, 100));
      break;
    }
    return true;
  }

  // ---- frames from the node ----

  /** Handles an end-to-end frame; false when `f` is not one. */
  onFrame(f: Frame): boolean {
    switch (f.t) {
      case 'keys':
        this.onKeys(f);
        return true;
      case 'keys.count':
        if (typeof f.remaining === 'number' && f.remaining < (this.setup.preKeyLowWater ?? 5)) this.publish();
        return true;
      case 'group.devices':
        this.onGroupDevices(f);
        return true;
      case 'keys.distributed':
        this.onDistributed(f);
        return true;
      case 'skdm':
        this.onSkdm(f);
        return true;
      case 'intro':
        this.onIntro(f);
        return true;
      case 'keys.introduced':
        // The introductions call retryWaiting (their host's `settled`) once nothing of theirs is outstanding.
        this.intros?.onIntroduced(f.cid, f.stale);
        return true;
      default:
        return false;
    }
  }

  private onKeys(f: Frame): void {
    // This device fetches with `users` only; `keys {user, bundles: []}` answers its own publish.
    if (!Array.isArray(f.users)) {
      if (f.user === userOf(this.link.id)) this.publishedAt = 0;
      return;
    }
    const asked = f.users as unknown[];
    if (this.fetchesOut > 0) this.fetchesOut--;
    const bundles = Array.isArray(f.bundles) ? (f.bundles as FetchedBundleData[]) : [];
    const fresh = new Map<UserId, DeviceId[]>();
    for (const u of asked) if (typeof u === 'string' && this.fetching?.delete(u)) fresh.set(u, []);
    if (this.fetching?.size === 0) this.fetching = undefined;
    for (const b of bundles) {
      if (b.device === this.link.id) continue;
      const u = userOf(b.device);
      if (!fresh.has(u)) continue;
      this.stats.counts.bundlesFetched++;
      this.awaited?.delete(b.device);
      // A session started with the identity this bundle names is kept; another identity is a reinstalled device.
      if (this.crypto.hasSession(b.device) && this.crypto.sessionIdentity(b.device) === b.identityKey) {
        fresh.get(u)!.push(b.device);
        continue;
      }
      try {
        const r = this.crypto.startSession(b.device, b);
        this.stats.counts.sessionsStarted++;
        if (!r.usedOneTimePreKey) this.stats.counts.signedPreKeyOnly++;
        if (r.identityChanged) this.stats.counts.identityChanges++;
        fresh.get(u)!.push(b.device);
      } catch (err) {
        this.stats.failed(err instanceof E2eeError ? `session_${err.reason}` : 'session_failed');
      }
    }
    const now = this.link.clock.now();
    const again: UserId[] = [];
    for (const [u, ds] of fresh) if (ds.length === 0) (this.noKeysAt ??= new Map()).set(u, now);
    for (const [u, ds] of fresh) {
      // The server named a device of u that published no bundle yet (it signed in a moment ago): ask again shortly.
      const unpublished = [...(this.awaited ?? [])].some(([d, since]) => userOf(d) === u && !ds.includes(d) && now - since < AWAIT_PUBLISH_MS);
      if (unpublished) again.push(u);
      else this.learn(u, ds);
    }
    if (again.length > 0) this.link.clock.setTimeout(() => this.fetch(again.filter((u) => !this.devicesOf.has(u))), UNPUBLISHED_RETRY_MS);
    if (fresh.size > again.length) this.retryWaiting();
    this.pumpFetches();
  }

  private onGroupDevices(f: Frame): void {
    const gid = f.gid;
    if (typeof gid !== 'string' || typeof f.version !== 'string' || !Array.isArray(f.devices)) return;
    const groups = (this.groups ??= new Map<string, GroupState>());
    let g = groups.get(gid);
    if (!g) groups.set(gid, (g = { version: '', devices: [], keyed: new Set(), inFlight: new Map(), asked: false, askedAt: 0, channel: false }));
    const devices = (f.devices as DeviceId[]).filter((d) => d !== this.link.id);
    const now = new Set(devices);
    // A member device gone: the sender key it holds must not read what comes next.
    if (g.version !== '' && g.devices.some((d) => !now.has(d))) {
      this.crypto.rotateSenderKey(gid);
      this.stats.counts.senderKeyRotations++;
      g.keyed.clear();
    }
    g.version = f.version;
    g.devices = devices;
    g.channel = f.fanout === 'read';
    g.asked = false;
    for (const d of g.keyed) if (!now.has(d)) g.keyed.delete(d);
    this.retryWaiting();
  }

  private onDistributed(f: Frame): void {
    if (typeof f.cid !== 'string') return;
    for (const g of this.groups?.values() ?? []) {
      const sent = g.inFlight.get(f.cid);
      if (!sent) continue;
      g.inFlight.delete(f.cid);
      const stale = new Set(Array.isArray(f.stale) ? (f.stale as string[]) : []);
      for (const d of sent.devices) if (!stale.has(d)) g.keyed.add(d);
      this.retryWaiting();
      return;
    }
  }

  private onSkdm(f: Frame): void {
    const { from, gid, body } = f;
    if (typeof from !== 'string' || typeof gid !== 'string' || typeof body !== 'string') return;
    try {
      const t0 = this.setup.cpuNow();
      const d = this.crypto.decrypt(from, body);
      this.crypto.processSenderKeyDistribution(from, gid, d.plaintext);
      this.stats.decrypted((this.setup.cpuNow() - t0) * 1000);
      this.noteDecrypted(d);
    } catch (err) {
      this.stats.failed(err instanceof E2eeError ? `skdm_${err.reason}` : 'skdm_failed');
      return;
    }
    const k = `${from} ${gid}`;
    const waiting = this.held?.get(k);
    if (!waiting) return;
    this.held!.delete(k);
    for (const h of waiting) {
      this.heldMids?.delete(h.frame.mid as string);
      const r = this.decryptMsg(h.frame, h.meta, false);
      this.link.released(h, r.plaintext, r.reason);
    }
  }

  /** An introduction (or its answer) from another device: its session is this device's now, and it is answered (Introductions). */
  private onIntro(f: Frame): void {
    const { from, body } = f;
    if (typeof from !== 'string' || typeof body !== 'string') return;
    let plaintext: string;
    try {
      const d = this.crypto.decrypt(from, body);
      this.noteDecrypted(d);
      plaintext = d.plaintext;
    } catch (err) {
      this.stats.failed(err instanceof E2eeError ? `intro_${err.reason}` : 'intro_failed');
      return;
    }
    this.introductions().received(from, plaintext);
  }

  private introductions(): Introductions {
    return (this.intros ??= new Introductions({ link: this.link, stats: this.stats, crypto: () => this.crypto, devicesOfUser: (u) => this.devicesOfUser(u), settled: () => this.retryWaiting() }));
  }

  /** The server's answer to a stale view: `devices_changed` (direct) or `members_changed` (group). Refreshes what it names. */
  onStale(cid: string, f: Frame): void {
    const e = this.waiting?.get(cid);
    const frame = this.built?.get(cid) as Frame | undefined;
    this.built = without(this.built, cid);
    if (f.code === 'members_changed') {
      this.stats.counts.membersChanged++;
      const to = typeof frame?.to === 'string' ? frame.to : e?.to;
      if (to?.startsWith('g:')) {
        const g = this.groups?.get(to.slice(2));
        if (g) g.version = '';
        this.askGroup(to.slice(2));
      }
      return;
    }
    this.stats.counts.devicesChanged++;
    const stale = Array.isArray(f.stale) ? (f.stale as string[]) : [];
    const missing = Array.isArray(f.missing) ? (f.missing as string[]) : [];
    // Reinstalled devices: their sessions are with an identity they no longer have. Their new bundles replace them
    // (startSession then reports the identity change).
    const changed = Array.isArray(f.changed) ? (f.changed as string[]) : [];
    for (const d of changed) this.crypto.forget(d);
    missing.push(...changed);
    for (const d of stale) {
      this.crypto.forget(d);
      const ds = this.devicesOfUser(userOf(d));
      if (ds) this.learn(userOf(d), ds.filter((x) => x !== d));
    }
    const awaited = (this.awaited ??= new Map());
    for (const d of missing) if (!awaited.has(d)) awaited.set(d, this.link.clock.now());
    const users = [...new Set(missing.map(userOf))];
    // Fetched again, so their bundles (and new sessions) replace what this device knew.
    for (const u of users) this.devicesOf.delete(u);
    if (users.length > 0) this.fetch(users.filter((u) => !this.fetching?.has(u)));
  }

  // ---- receiving ----

  /**
   * Decrypts an `e2e` message: its plaintext, or the reason it cannot be read.
   * A group message whose sender key has not arrived yet is held (`held`),
   * to be released through `link.released` when its distribution comes or
   * the wait ends.
   */
  decryptMsg(f: Frame, meta: unknown, mayHold = true): { plaintext?: string; reason?: string; held?: true } {
    const { from, conv, body } = f;
    if (typeof from !== 'string' || typeof conv !== 'string' || typeof body !== 'string') return this.fail('malformed');
    const t0 = this.setup.cpuNow();
    try {
      if (conv.startsWith('g:')) {
        const plaintext = this.openMedia(this.crypto.groupDecrypt(from, conv.slice(2), body));
        this.stats.decrypted((this.setup.cpuNow() - t0) * 1000);
        return { plaintext };
      }
      const d = this.crypto.decrypt(from, body);
      this.noteDecrypted(d);
      const plaintext = this.openMedia(d.plaintext);
      this.stats.decrypted((this.setup.cpuNow() - t0) * 1000);
      return { plaintext };
    } catch (err) {
      const reason = err instanceof E2eeError ? err.reason : 'malformed';
      if (reason === 'no_sender_key' && mayHold) return this.hold(f, meta, `${from} ${conv.slice(2)}`);
      return this.fail(reason);
    }
  }

  /** A message with an attachment: its sealed bytes opened with the key it carries (a MAC or digest failure throws). The text otherwise. */
  private openMedia(plaintext: string): string {
    if (!plaintext.startsWith(MEDIA_PREFIX)) return plaintext;
    const m = JSON.parse(plaintext) as { text: string; media: { key: string; digest: string; blob: string } };
    this.setup.attachments.open(m.media.blob, m.media.key, m.media.digest);
    this.stats.counts.attachmentsOpened++;
    return m.text;
  }

  /** The plaintext of a pending send: its text, with its attachment sealed under a fresh key when it has one. */
  private plaintextOf(e: PendingSend): string {
    if (e.mediaBytes === 0) return e.body;
    const media = this.setup.attachments.seal(e.mediaBytes);
    this.stats.counts.attachmentsSealed++;
    // MEDIA_PREFIX starts the JSON: the receiver tells a message with an attachment from a text by its first characters.
    return JSON.stringify({ text: e.body, media });
  }

  private noteDecrypted(d: { startedSession: boolean; identityChanged: boolean; usedOneTimePreKey?: number }): void {
    if (d.startedSession) this.stats.counts.sessionsAccepted++;
    if (d.identityChanged) this.stats.counts.identityChanges++;
    if (d.usedOneTimePreKey !== undefined && ++this.preKeyMessages % COUNT_EVERY === 0 && this.link.online()) this.write({ t: 'keys.count' });
  }

  private fail(reason: string): { reason: string } {
    this.stats.failed(reason);
    return { reason };
  }

  /** Whether a message is held for its sender key (its first copy: the device has neither shown nor acked it). */
  isHeld(mid: string): boolean {
    return this.heldMids?.has(mid) ?? false;
  }

  private hold(f: Frame, meta: unknown, key: string): { held: true } {
    const list = (this.held ??= new Map()).get(key);
    const h = { frame: f, atMs: this.link.clock.now(), meta };
    if (typeof f.mid === 'string') (this.heldMids ??= new Set()).add(f.mid);
    if (list) list.push(h);
    else this.held.set(key, [h]);
    this.armHold();
    return { held: true };
  }

  private armHold(): void {
    if (this.holdTimer) return;
    const wait = this.setup.senderKeyWaitMs ?? SENDER_KEY_WAIT_MS;
    this.holdTimer = this.link.clock.setTimeout(() => {
      this.holdTimer = undefined;
      const cutoff = this.link.clock.now() - wait;
      for (const [k, list] of this.held ?? []) {
        const expired = list.filter((h) => h.atMs <= cutoff);
        if (expired.length === 0) continue;
        const rest = list.filter((h) => h.atMs > cutoff);
        if (rest.length > 0) this.held!.set(k, rest);
        else this.held!.delete(k);
        for (const h of expired) {
          this.heldMids?.delete(h.frame.mid as string);
          this.link.released(h, undefined, this.fail('no_sender_key').reason);
        }
      }
      if ((this.held?.size ?? 0) > 0) this.armHold();
    }, wait);
  }

  // ---- waits ----

  /**
   * Sets up, before any message, what a device in steady use already has:
   * sessions with the devices of its contacts (X3DH as the initiator),
   * confirmed on both sides by introductions to the devices of `introduce`
   * (Introductions: a contact's first message is then no pre-key message),
   * and, once those are answered, its sender key with every member device of
   * its groups (each member's side of those sessions starts as it takes the
   * distribution). `settling` is true until it is all done.
   */
  prewarm(users: readonly UserId[], groups: readonly string[], introduce: readonly UserId[] = []): void {
    this.fetch([...users, ...introduce, userOf(this.link.id)].filter((u) => !this.devicesOf.has(u)));
    for (const gid of groups) (this.prewarming ??= new Set()).add(gid);
    if (introduce.length > 0) this.introductions().plan(introduce);
    this.retryWaiting();
  }

  /** The node answered this device's latest publish. */
  get keysPublished(): boolean {
    return this.published && this.publishedAt === 0;
  }

  /** What `prewarm` still waits for, in words (for a setup that did not settle). */
  get unsettled(): string {
    const asked = [...(this.fetching?.values() ?? [])].filter((at) => at !== 0).length;
    const groups = [...(this.prewarming ?? [])].map((gid) => {
      const g = this.groups?.get(gid);
      return `${gid}: ${!g ? 'members not asked yet' : g.version === '' ? 'members asked' : `${g.inFlight.size} distributions on their way, ${g.keyed.size} of ${g.devices.length} devices keyed`}`;
    });
    const intros = this.intros?.settling ? `; ${this.intros.unsettled}` : '';
    return `${this.fetching?.size ?? 0} users' keys (${asked} asked, ${this.fetchesOut} fetches out)${groups.length ? `; ${groups.join('; ')}` : ''}${intros}`;
  }

  /** Keys, introductions, group members or distributions still on their way for `prewarm`. */
  get settling(): boolean {
    return this.fetching !== undefined || (this.prewarming?.size ?? 0) > 0 || (this.intros?.settling ?? false);
  }

  /** Every send waiting for something: those whose frame can be built now are transmitted, the others ask for what they still need. */
  private retryWaiting(): void {
    if (!this.link.online()) return;
    this.intros?.advance();
    // The prewarm's distributions go once this device's introductions are answered: on those sessions, confirmed, not on
    // a second session of the same two devices (which they would settle by trial decryption during the load).
    if (!this.intros?.settling) for (const gid of this.prewarming ?? []) if (this.advanceGroup(gid)) this.prewarming!.delete(gid);
    for (const [cid, e] of [...(this.waiting ?? [])]) {
      if (this.built?.has(cid) || this.advance(e)) this.link.kick(cid);
    }
  }

  /**
   * Whether `frameFor` would build the frame now. If not, asks for the next
   * thing it needs (group devices, then bundles, then distributions), each
   * asked once while on its way.
   */
  private advance(e: PendingSend): boolean {
    const me = userOf(this.link.id);
    if (!e.to.startsWith('g:')) {
      // A recipient whose answer named no bundle had published none yet (it signed in a moment ago): asked again, at most every NO_KEYS_RETRY_MS.
      if (e.to !== me && this.devicesOfUser(e.to)?.length === 0) {
        const wait = (this.noKeysAt?.get(e.to) ?? 0) + NO_KEYS_RETRY_MS - this.link.clock.now();
        if (wait > 0) {
          this.askAgainIn(wait);
          return false;
        }
        this.devicesOf.delete(e.to);
      }
      const missing = [e.to, me].filter((u) => !this.devicesOf.has(u));
      if (missing.length > 0) this.fetch(missing);
      return missing.length === 0;
    }
    return this.advanceGroup(e.to.slice(2));
  }

  /** Runs retryWaiting in `wait` ms: one timer for every such recipient, due at the earliest of their waits. */
  private askAgainIn(wait: number): void {
    const due = this.link.clock.now() + wait;
    if (this.noKeysTimer) {
      if (this.noKeysDue <= due) return;
      this.link.clock.clear(this.noKeysTimer);
    }
    this.noKeysDue = due;
    this.noKeysTimer = this.link.clock.setTimeout(() => {
      this.noKeysTimer = undefined;
      this.retryWaiting();
    }, wait);
  }

  /** `advance` for a group: its member devices known, sessions with them, this device's sender key with every one of them. */
  private advanceGroup(gid: string): boolean {
    const g = this.groups?.get(gid);
    if (!g || g.version === '') {
      this.askGroup(gid);
      return false;
    }
    if (g.channel) return true;
    const users = [...new Set(g.devices.map(userOf))].filter((u) => !this.devicesOf.has(u));
    if (users.length > 0) {
      this.fetch(users);
      return false;
    }
    // A member device whose user's bundles came without it never published keys: no sender key can reach it.
    const sendable = g.devices.filter((d) => this.crypto.hasSession(d));
    const unkeyed = sendable.filter((d) => !g.keyed.has(d) && !isInFlight(g, d));
    if (unkeyed.length > 0) this.distribute(gid, g, unkeyed);
    return g.inFlight.size === 0;
  }

  /**
   * Answers that did not come within ANSWER_TIMEOUT_MS (a request refused by
   * a rate limit, or lost) are asked again: fetches, group questions,
   * distributions and the publish. Runs while anything is outstanding.
   */
  private armRetry(): void {
    if (this.retryTimer) return;
    const outstanding = this.fetching !== undefined || this.publishedAt !== 0 || [...(this.groups?.values() ?? [])].some((g) => g.asked || g.inFlight.size > 0);
    if (!outstanding) return;
    this.retryTimer = this.link.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.link.online()) return;
      const cutoff = this.link.clock.now() - ANSWER_TIMEOUT_MS;
      let overdue = 0;
      for (const [u, at] of this.fetching ?? []) {
        if (at !== 0 && at <= cutoff) {
          this.fetching!.set(u, 0);
          overdue++;
        }
      }
      // Users per frame are not tracked: a frame's worth of overdue users is one frame that will not be answered.
      if (overdue > 0) this.fetchesOut = Math.max(0, this.fetchesOut - Math.ceil(overdue / USERS_PER_FETCH));
      if (this.publishedAt !== 0 && this.publishedAt <= cutoff) this.publish();
      for (const [gid, g] of this.groups ?? []) {
        if (g.asked && g.askedAt <= cutoff) {
          g.asked = false;
          this.askGroup(gid);
        }
        for (const [cid, sent] of g.inFlight) {
          if (sent.at > cutoff) continue;
          g.inFlight.delete(cid);
        }
      }
      this.pumpFetches();
      this.retryWaiting();
      this.armRetry();
    }, ANSWER_TIMEOUT_MS / 5);
  }

  /** The socket closed: answers to requests in flight will not come; everything outstanding is asked again after the next welcome. */
  onDisconnected(): void {
    for (const u of this.fetching?.keys() ?? []) this.fetching!.set(u, 0);
    this.fetchesOut = 0;
    for (const g of this.groups?.values() ?? []) {
      g.asked = false;
      g.inFlight.clear();
    }
    this.intros?.onDisconnected();
  }

  stop(): void {
    if (this.retryTimer) this.link.clock.clear(this.retryTimer);
    if (this.holdTimer) this.link.clock.clear(this.holdTimer);
    if (this.noKeysTimer) this.link.clock.clear(this.noKeysTimer);
    this.retryTimer = this.holdTimer = this.noKeysTimer = undefined;
    this.awaited?.clear();
    // Held messages were never acked: the inbox offers them again after the next welcome.
    this.held?.clear();
    this.heldMids?.clear();
    this.waiting = undefined;
    this.built = undefined;
    this.prewarming?.clear();
    this.intros?.stop();
  }

  private write(f: ClientFrame): void {
    this.link.write(f);
  }
}

/** Media without end-to-end encryption (`--no-e2ee`, channels): the text and the attachment's bytes (filler) as they travel, in the clear. */
export function plainMedia(text: string, bytes: number): string {
  return JSON.stringify({ text, media: { blob: MEDIA_FILLER.slice(0, Math.ceil((bytes * 4) / 3)) } });
}
const MEDIA_FILLER = 'M'.repeat(16_386);

function isInFlight(g: GroupState, d: DeviceId): boolean {
  for (const s of g.inFlight.values()) if (s.devices.includes(d)) return true;
  return false;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** `m` without `key`, or undefined once that leaves it empty (a Map keeps its grown table after its entries leave). */
function without<K, V>(m: Map<K, V> | undefined, key: K): Map<K, V> | undefined {
  if (m === undefined) return undefined;
  m.delete(key);
  return m.size > 0 ? m : undefined;
}
