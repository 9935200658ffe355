import type { Clock } from '../../system/clock/clock.ts';
import type { Random } from '../../system/random/random.ts';
import { ProtocolLimits } from '../../system/protocol/frames.ts';
import { BackoffDefaults, type BackoffOptions } from './backoff.ts';
import type { DeviceStats } from './stats.ts';
import type { E2eeSetup } from './e2ee/e2ee-client.ts';
import type { DeviceMedia } from './media.ts';
import type { DeviceStories } from './stories.ts';
import type { DeviceCallOptions } from './calls.ts';

/** How a virtual device behaves. Everything but the identity and the ports has a default. */
export interface DeviceOptions {
  /** Device id, `u12.1`. */
  id: string;
  /**
   * Where the device counts (see `stats()`); default: counters of its own.
   * Devices may share one object, which then holds their sum (a simulation
   * of millions of devices counts into one).
   */
  stats?: DeviceStats;
  /** Called with the device id for every `hello`, so a token can be refreshed between connections (one function may serve every device). */
  token: (deviceId: string) => string;
  clock: Clock;
  /** This device's own stream (fork it per device): reconnect jitter. */
  random: Random;
  backoff?: Partial<BackoffOptions>;
  sendRetry?: Partial<{ timeoutMs: number; maxAttempts: number }>;
  /** Longest an out-of-order message waits for the seqs below it; then the gap is skipped. */
  reorderWaitMs?: number;
  /** Seqs held per conversation (waiting messages plus known own seqs); beyond it the lowest gap is skipped. */
  reorderMax?: number;
  /** Delay from showing a message to reporting it read; -1 never reads. */
  readDelayMs?: number;
  /** Longest a delivery ack (`recv`) waits to be batched with others. */
  recvFlushMs?: number;
  /** A `recv` frame goes out as soon as this many ids are collected. */
  recvBatchMax?: number;
  /** Un-acked sends held at once (queued offline or in flight); one more gets `queue_full`. */
  maxPendingSends?: number;
  /** Users whose presence to follow, subscribed after every welcome. */
  presenceSubscribe?: string[];
  /** Send a `typing` signal before each new message's first transmission. */
  typing?: boolean;
  /** Recent mids (and, separately, receipt ids) remembered to drop transport duplicates. */
  dedupWindow?: number;
  /** A socket not authenticated within this long is closed and retried with backoff. */
  connectTimeoutMs?: number;
  /** A push wake-up brings a backgrounded (offline) device online. */
  wakeOnPush?: boolean;
  /**
   * How long a backgrounded app keeps its socket for sends still awaiting
   * their acks (the background time a mobile OS gives an app to finish):
   * the socket closes once the last is acked, or after this long. 0 closes
   * it at once.
   */
  backgroundGraceMs?: number;
  /** End-to-end encryption (Signal-style, see e2ee/e2ee-client.ts); shared by every device built alike. Absent: plaintext, nothing counted. */
  e2ee?: E2eeSetup;
  /** Fetches the uploaded media of messages shown (the device's CDN edge); shared by devices built alike. Absent: a media message counts as delivered when shown. */
  media?: DeviceMedia;
  /** Told what the device's stories did (posts, lists, views, view receipts); shared by devices built alike. Absent: stories are not used. */
  stories?: DeviceStories;
  /** Calls (places, rings, answers, carries media through the host's plane); shared by devices built alike. Absent: calls are not used. */
  calls?: DeviceCallOptions;
}

export type ResolvedDeviceOptions = Required<Omit<DeviceOptions, 'backoff' | 'sendRetry' | 'stats' | 'e2ee' | 'media' | 'stories' | 'calls'>> & {
  e2ee: E2eeSetup | undefined;
  media: DeviceMedia | undefined;
  stories: DeviceStories | undefined;
  calls: DeviceCallOptions | undefined;
  backoff: BackoffOptions;
  sendRetry: { timeoutMs: number; maxAttempts: number };
};

export const DeviceDefaults = {
  backoff: BackoffDefaults,
  sendRetry: { timeoutMs: 5_000, maxAttempts: 5 },
  reorderWaitMs: 2_000,
  reorderMax: 1_024,
  readDelayMs: 1_000,
  recvFlushMs: 5,
  recvBatchMax: 100,
  maxPendingSends: 1_000,
  presenceSubscribe: [] as string[],
  typing: false,
  dedupWindow: 4_096,
  connectTimeoutMs: 15_000,
  wakeOnPush: true,
  backgroundGraceMs: 5_000,
} as const;

/** Resolved nested options, shared by every device given the same input object (they are read-only). */
const nested = new WeakMap<object, object>();
const NO_USERS: string[] = Object.freeze([]) as unknown as string[];

function shared<T extends object>(input: Partial<T> | undefined, defaults: T): T {
  if (!input) return defaults;
  let r = nested.get(input) as T | undefined;
  if (!r) nested.set(input, (r = { ...defaults, ...stripUndefined(input) }));
  return r;
}

/**
 * Fills defaults and validates once, at the edge. Builds one fixed-shape
 * object (a device holds it for its lifetime, and a simulation holds
 * millions of devices, so it must stay small).
 */
export function resolveDeviceOptions(o: DeviceOptions): ResolvedDeviceOptions {
  const D = DeviceDefaults;
  const r: ResolvedDeviceOptions = {
    id: o.id,
    token: o.token,
    clock: o.clock,
    random: o.random,
    reorderWaitMs: o.reorderWaitMs ?? D.reorderWaitMs,
    reorderMax: o.reorderMax ?? D.reorderMax,
    readDelayMs: o.readDelayMs ?? D.readDelayMs,
    recvFlushMs: o.recvFlushMs ?? D.recvFlushMs,
    recvBatchMax: o.recvBatchMax ?? D.recvBatchMax,
    maxPendingSends: o.maxPendingSends ?? D.maxPendingSends,
    presenceSubscribe: o.presenceSubscribe ?? NO_USERS,
    typing: o.typing ?? D.typing,
    dedupWindow: o.dedupWindow ?? D.dedupWindow,
    connectTimeoutMs: o.connectTimeoutMs ?? D.connectTimeoutMs,
    wakeOnPush: o.wakeOnPush ?? D.wakeOnPush,
    backgroundGraceMs: o.backgroundGraceMs ?? D.backgroundGraceMs,
    e2ee: o.e2ee,
    media: o.media,
    stories: o.stories,
    calls: o.calls,
    backoff: shared(o.backoff, D.backoff),
    sendRetry: shared(o.sendRetry, D.sendRetry),
  };
  if (typeof r.id !== 'string' || r.id.length === 0) throw new RangeError('device id is required');
  nonNegative('reorderWaitMs', r.reorderWaitMs);
  nonNegative('recvFlushMs', r.recvFlushMs);
  nonNegative('backgroundGraceMs', r.backgroundGraceMs);
  positiveInt('reorderMax', r.reorderMax);
  positiveInt('recvBatchMax', r.recvBatchMax);
  positiveInt('dedupWindow', r.dedupWindow);
  if (!(r.connectTimeoutMs > 0)) throw new RangeError(`connectTimeoutMs must be > 0, got ${r.connectTimeoutMs}`);
  if (!(r.readDelayMs === -1 || r.readDelayMs >= 0)) throw new RangeError(`readDelayMs must be -1 or >= 0, got ${r.readDelayMs}`);
  if (r.recvBatchMax > ProtocolLimits.maxIdsPerRecv) throw new RangeError(`recvBatchMax must be <= ${ProtocolLimits.maxIdsPerRecv}`);
  return r;
}

/** Resolved options without a device's identity: what devices built alike can share. */
export type DeviceProfile = Omit<ResolvedDeviceOptions, 'id' | 'token' | 'random'>;

const objectIds = new WeakMap<object, number>();
let lastObjectId = 0;
/** Profiles by clock (so they live as long as it) and by option values. */
const profiles = new WeakMap<object, Map<string, DeviceProfile>>();

function idOf(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = ++lastObjectId));
  return id;
}

/**
 * One shared, read-only profile per distinct option set (objects compared by
 * identity): a simulation builds millions of devices alike, and a resolved
 * options object each is a few hundred bytes apiece.
 */
export function deviceProfile(r: ResolvedDeviceOptions): DeviceProfile {
  let byKey = profiles.get(r.clock);
  if (!byKey) profiles.set(r.clock, (byKey = new Map()));
  const key = `${r.reorderWaitMs}/${r.reorderMax}/${r.readDelayMs}/${r.recvFlushMs}/${r.recvBatchMax}/${r.maxPendingSends}/${r.typing}/${r.dedupWindow}/${r.connectTimeoutMs}/${r.wakeOnPush}/${r.backgroundGraceMs}/${idOf(r.presenceSubscribe)}/${idOf(r.backoff)}/${idOf(r.sendRetry)}/${r.e2ee ? idOf(r.e2ee) : 0}/${r.media ? idOf(r.media) : 0}/${r.stories ? idOf(r.stories) : 0}`;
  let p = byKey.get(key);
  if (!p) {
    const { id: _id, token: _token, random: _random, ...rest } = r;
    byKey.set(key, (p = Object.freeze(rest)));
  }
  return p;
}

function nonNegative(name: string, v: number): void {
  if (!(v >= 0)) throw new RangeError(`${name} must be >= 0, got ${v}`);
}

function positiveInt(name: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be an integer >= 1, got ${v}`);
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
