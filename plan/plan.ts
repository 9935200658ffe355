import { z } from 'zod';
import { parseOrThrow, shown } from '../system/schema/check.ts';
import type { Calibration } from '../system/worlds/sim/calibration.ts';
import { mean } from '../system/worlds/sim/distribution.ts';
import { MEDIA_KIND_NAMES, MEDIA_KINDS, type MediaKind } from '../scenarios/media-kinds.ts';

/** The media mix a plan assumes: per kind, its share of media messages (weights, normalised) and its mean size in bytes. */
export type PlanMediaMix = Partial<Record<MediaKind, { weight: number; meanBytes: number }>>;

/** The planner's questions. Counts are plain numbers; parse "500M"-style text with `parseCount`. */
export interface PlanInput {
  /** Daily active users. */
  dau: number;
  msgsPerUserDay: number;
  /** Peak-hour rate over the daily average. */
  peakFactor: number;
  devicesPerUser: number;
  /** Share of messages sent to groups, 0..1. */
  groupShare: number;
  /** Members of an average group (the sender included). */
  groupSize: number;
  /** Share of devices connected at the peak, 0..1 (ignored when `concurrent` is given). */
  onlineShare: number;
  /** Concurrent connections at the peak, when known directly. */
  concurrent?: number;
  retentionDays: number;
  /** Average stored message size (frame and metadata), bytes. */
  messageBytes: number;
  /** Connections one gateway node holds. */
  connsPerNode: number;
  /** Frames per second one gateway node processes (from the calibration's CPU per frame when given). */
  framesPerNodeSec: number;
  /** Writes per second one store node sustains. */
  writesPerStoreNode: number;
  /** Store replication factor. */
  replication: number;
  /** Spare capacity kept on every tier, 0..1 (0.3 = plan for 70% utilisation). */
  headroom: number;
  /** Share of messages that carry media (a photo, voice note, video or document), 0..1. */
  mediaShare: number;
  /** Which kinds of media are sent and how large they are on average. */
  mediaMix: PlanMediaMix;
  /** How long media is kept after upload, days. */
  mediaRetentionDays: number;
  /** Share of offered media bytes already stored (forwards, re-sends): answered `exists`, neither uploaded nor stored again, 0..1. */
  mediaDedup: number;
  /** Share of media downloads the CDN edges answer from their cache, 0..1. */
  edgeHitRatio: number;
  /** Bits per second one CDN edge serves. */
  edgeBitsPerSec: number;
  /** Devices that download one media message (default: the plan's recipient devices per message). */
  mediaRecipients?: number;
  /** Voice and video calls each user places a day. */
  callsPerUserDay: number;
  /** Mean length of a call, minutes. */
  callMinutes: number;
  /** Share of calls that are video calls, 0..1. */
  callVideoShare: number;
  /** Share of calls relayed (TURN): both ends behind a symmetric NAT, no direct path, 0..1. */
  callRelayedShare: number;
  /** One direction of an audio call, kbit/s of payload. */
  callAudioKbps: number;
  /** One direction of a video call (its audio included), kbit/s of payload. */
  callVideoKbps: number;
  /** Bits per second one relay server forwards out. */
  relayBitsPerSec: number;
}

/** The default media mix: scenarios/media-kinds.ts's weights, each kind at the middle of its size range (its sizes are drawn uniformly). */
export const DEFAULT_MEDIA_MIX: PlanMediaMix = Object.fromEntries(
  MEDIA_KIND_NAMES.map((k) => [k, { weight: MEDIA_KINDS[k].weight, meanBytes: (MEDIA_KINDS[k].bytes.min + MEDIA_KINDS[k].bytes.max) / 2 }]),
);

export const PlanDefaults: Omit<PlanInput, 'dau' | 'msgsPerUserDay' | 'peakFactor'> = {
  devicesPerUser: 1.5,
  groupShare: 0.2,
  groupSize: 8,
  onlineShare: 0.6,
  retentionDays: 30,
  messageBytes: 300,
  connsPerNode: 100_000,
  framesPerNodeSec: 50_000,
  writesPerStoreNode: 20_000,
  replication: 3,
  headroom: 0.3,
  mediaShare: 0.1,
  mediaMix: DEFAULT_MEDIA_MIX,
  mediaRetentionDays: 30,
  mediaDedup: 0.3,
  edgeHitRatio: 0.8,
  // One edge's network interface: 10 Gbit/s.
  edgeBitsPerSec: 10e9,
  // WhatsApp's record day for calls, New Year's Eve 2020, carried 1.4 billion among some 2 billion users: 0.7 a user (in 2016,
  // 100 million a day among 1 billion). Two a user leaves room for a population that calls more than that.
  callsPerUserDay: 2,
  // A round figure: mobile voice calls commonly last a few minutes and video calls longer.
  callMinutes: 5,
  // No large messenger publishes its split of voice and video calls: an assumption, to be replaced by measured figures.
  callVideoShare: 0.3,
  // callstats.io reported about 22% of WebRTC sessions relayed through TURN (2016); Twilio quotes about 15%.
  callRelayedShare: 0.2,
  // The devices' default codecs (scenarios/device/call-media.ts): Opus voice at 32 kbit/s, a mobile video call at 800 kbit/s.
  callAudioKbps: 32,
  callVideoKbps: 800,
  // One relay's network interface, as for an edge: 10 Gbit/s, used to (1 − headroom), 70% by default.
  relayBitsPerSec: 10e9,
};

export interface PlanLine {
  key: string;
  label: string;
  value: number;
  unit: string;
  formula: string;
  /** Lines of the media tier (uploads, storage, CDN edges) or of calls (their relays) say so; the chat tiers' lines have none. */
  section?: PlanSection;
}

export type PlanSection = 'media' | 'calls';

export interface Plan {
  input: PlanInput;
  lines: PlanLine[];
  /** Where the per-node capacities came from. */
  capacitySource: string;
}

/** A bad planner input: `field` is the option, the message names it, the rule and the value given. */
export class PlanInputError extends Error {
  readonly code = 'bad_plan_input';
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'PlanInputError';
  }
}

/** Parses option `field`'s value with `schema`, or refuses it as `--field: expected ..., got ...`. */
function parseField<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  return parseOrThrow(schema, value, `--${field}`, (m) => new PlanInputError(field, m));
}

const SUFFIX: Record<string, number> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, b: 1e9, B: 1e9, g: 1e9, G: 1e9 };
const COUNT = /^\s*(-?\d+(?:\.\d+)?(?:e\d+)?)\s*([kKmMbBgG]?)\s*$/;
const DAYS = /^\s*(-?\d+(?:\.\d+)?)\s*(d|h)?\s*$/;

/** A finite number meeting `ok`, refused as "expected <rule>". */
const figure = (rule: string, ok: (n: number) => boolean = () => true) =>
  z.custom<number>((v) => typeof v === 'number' && Number.isFinite(v) && ok(v), { error: `expected ${rule}` });

const notNegative = figure('a finite number >= 0', (n) => n >= 0);

/** Text matching `pattern` (or already a number), turned into a number by `read`, then checked to be >= 0. */
const textFigure = (pattern: RegExp, rule: string, read: (m: RegExpExecArray) => number) =>
  z
    .custom<string | number>((v) => typeof v === 'number' || (typeof v === 'string' && pattern.test(v)), { error: rule })
    .transform((v) => (typeof v === 'number' ? v : read(pattern.exec(v)!)))
    .pipe(notNegative);

/** "500M", "1.5k", "100e9", "2B" (or a number) → a number >= 0. */
const countSchema = textFigure(COUNT, 'expected a number like 500M, 1.5, 100e9 or 2B', (m) => Number(m[1]) * SUFFIX[m[2]!]!);

/** "30d", "12h", "90" (days; or a number) → days >= 0. */
const daysSchema = textFigure(DAYS, 'expected days like 30d, 12h or 90', (m) => (m[2] === 'h' ? Number(m[1]) / 24 : Number(m[1])));

/** "500M", "1.5k", "100e9", "2B" → a number; refused naming `--field` otherwise. */
export function parseCount(text: string | number | undefined, field: string): number {
  return parseField(countSchema, text, field);
}

/** "30d", "12h", "90" (days) → days; refused naming `--field` otherwise. */
export function parseDays(text: string | number | undefined, field: string): number {
  return parseField(daysSchema, text, field);
}

const greaterThan0 = figure('a number greater than 0', (n) => n > 0);
const share = figure('a number between 0 and 1', (n) => n >= 0 && n <= 1);

const MIX_ENTRY = /^\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*(?::\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kKmMbBgG]?))?\s*$/;
const MIX_RULE = `expected kind=weight or kind=weight:mean-bytes, comma-separated, each kind once (kinds: ${MEDIA_KIND_NAMES.join(', ')}), e.g. photo=0.7,video=0.3:4M`;

/** The entries of a media mix text, or undefined when one does not read as `kind=weight[:mean-bytes]` of a known kind, or a kind repeats. */
function mixEntries(text: string): RegExpExecArray[] | undefined {
  const entries = text.split(',').map((e) => MIX_ENTRY.exec(e));
  if (entries.some((e) => !e || !Object.hasOwn(MEDIA_KINDS, e[1]!))) return undefined;
  const kinds = entries.map((e) => e![1]);
  return new Set(kinds).size === kinds.length ? (entries as RegExpExecArray[]) : undefined;
}

/** "photo=0.7,video=0.3:4M" → those kinds (the others not sent), each at its given mean size or its default one. */
const mixTextSchema = z
  .custom<string>((v) => typeof v === 'string' && mixEntries(v) !== undefined, { error: MIX_RULE })
  .transform((v): PlanMediaMix => Object.fromEntries(mixEntries(v)!.map((e) => {
    const kind = e[1] as MediaKind;
    const meanBytes = e[3] === undefined ? DEFAULT_MEDIA_MIX[kind]!.meanBytes : Number(e[3]) * SUFFIX[e[4]!]!;
    return [kind, { weight: Number(e[2]), meanBytes }];
  })));

const MIX_SIZES_RULE = 'expected weights >= 0 adding up to more than 0 and mean sizes greater than 0';

/** A mix as the planner uses it: known kinds, weights >= 0 adding up to more than 0, every mean size above 0. */
const mixSchema = z.custom<PlanMediaMix>((v) => {
  if (typeof v !== 'object' || v === null) return false;
  const entries = Object.entries(v) as [string, { weight?: unknown; meanBytes?: unknown } | undefined][];
  const ok = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  return entries.every(([k, e]) => Object.hasOwn(MEDIA_KINDS, k) && ok(e?.weight) && ok(e?.meanBytes) && (e!.meanBytes as number) > 0)
    && entries.reduce((n, [, e]) => n + (e!.weight as number), 0) > 0;
}, { error: `expected kinds of ${MEDIA_KIND_NAMES.join(', ')}; ${MIX_SIZES_RULE.slice('expected '.length)}` });

/** "photo=0.7,video=0.3:4M" → a media mix; refused naming `--field` (and quoting the text) otherwise. */
export function parseMediaMix(text: string | undefined, field: string): PlanMediaMix {
  const mix = parseField(mixTextSchema, text, field);
  if (!mixSchema.safeParse(mix).success) throw new PlanInputError(field, `--${field}: ${MIX_SIZES_RULE}, got ${shown(text)}`);
  return mix;
}

/** The mean size of a media object under `mix`: Σ weight × mean bytes ÷ Σ weight. */
export function meanMediaBytes(mix: PlanMediaMix): number {
  const entries = Object.values(mix);
  const total = entries.reduce((n, e) => n + e.weight, 0);
  return entries.reduce((n, e) => n + e.weight * e.meanBytes, 0) / total;
}

/** A mix as `--media-mix` reads it, exactly: "photo=0.6:200k,voice=0.25:65k,…,document=0.05:1.025M". */
export function mixText(mix: PlanMediaMix): string {
  return Object.entries(mix).map(([k, e]) => `${k}=${e.weight}:${exact(e.meanBytes)}`).join(',');
}

/** A count with the largest suffix it reaches and every digit kept: 1025000 → "1.025M" (where `fmt` rounds to "1.02M"). */
function exact(n: number): string {
  for (const [d, s] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) if (Math.abs(n) >= d) return `${Number((n / d).toPrecision(12))}${s}`;
  return String(n);
}

/** Each figure of a plan: its option name and its rule, checked in this order. */
const FIGURES: [keyof PlanInput, string, z.ZodType][] = [
  ['dau', 'dau', greaterThan0],
  ['msgsPerUserDay', 'msgs-per-user-day', greaterThan0],
  ['peakFactor', 'peak-factor', figure('a number of at least 1 (the peak is not below the average)', (n) => n >= 1)],
  ['devicesPerUser', 'devices-per-user', greaterThan0],
  ['groupSize', 'group-size', figure('a number of at least 2', (n) => n >= 2)],
  ['messageBytes', 'message-bytes', greaterThan0],
  ['connsPerNode', 'conns-per-node', greaterThan0],
  ['framesPerNodeSec', 'frames-per-node-sec', greaterThan0],
  ['writesPerStoreNode', 'writes-per-store-node', greaterThan0],
  ['replication', 'replication', greaterThan0],
  ['groupShare', 'group-share', share],
  ['onlineShare', 'online-share', share],
  ['headroom', 'headroom', figure('a number between 0 and 1, below 1', (n) => n >= 0 && n < 1)],
  ['retentionDays', 'retention', notNegative],
  ['concurrent', 'concurrent', greaterThan0.optional()],
  ['mediaShare', 'media-share', share],
  ['mediaMix', 'media-mix', mixSchema],
  ['mediaRetentionDays', 'media-retention', notNegative],
  ['mediaDedup', 'media-dedup', share],
  ['edgeHitRatio', 'edge-hit-ratio', share],
  ['edgeBitsPerSec', 'edge-bits-per-sec', greaterThan0],
  ['mediaRecipients', 'media-recipients', notNegative.optional()],
  ['callsPerUserDay', 'calls-per-user-day', notNegative],
  ['callMinutes', 'call-minutes', greaterThan0],
  ['callVideoShare', 'call-video-share', share],
  ['callRelayedShare', 'call-relayed-share', share],
  ['callAudioKbps', 'call-audio-kbps', greaterThan0],
  ['callVideoKbps', 'call-video-kbps', greaterThan0],
  ['relayBitsPerSec', 'relay-bits-per-sec', greaterThan0],
];

/** Fills defaults and checks every figure once, at the edge. */
export function resolvePlanInput(raw: Partial<PlanInput> & Pick<PlanInput, 'dau' | 'msgsPerUserDay' | 'peakFactor'>): PlanInput {
  const i = { ...PlanDefaults, ...stripUndefined(raw) } as PlanInput;
  for (const [key, field, schema] of FIGURES) parseField(schema, i[key], field);
  return i;
}

/** Per-node capacities measured by a calibration: a node's frames/s from its CPU per frame, store writes/s from service times. */
export function capacityFrom(c: Calibration): Pick<PlanInput, 'framesPerNodeSec' | 'writesPerStoreNode'> {
  const f = c.node.frameMs;
  // A message costs a node one send, about two deliveries out, their recv acks and a read: weigh the kinds so.
  const perMessageMs = mean(f.send) + 2 * mean(f.recv) + mean(f.read) + 3 * mean(c.node.frameOutMs) + mean(c.node.envelopeMs);
  const framesPerMessage = 7;
  const cas = c.stores.cassandra;
  const writeMs = mean(cas.opMs['inbox.put'] ?? cas.opMs.default);
  return {
    framesPerNodeSec: Math.round((1000 / perMessageMs) * framesPerMessage),
    writesPerStoreNode: Math.round((1000 / writeMs) * (cas.servers / Math.max(1, Math.ceil(cas.servers / 8)))),
  };
}

/** The plan: every figure with the formula it came from. */
export function plan(input: PlanInput, capacitySource = 'defaults'): Plan {
  const i = input;
  const lines: PlanLine[] = [];
  const add = (key: string, label: string, value: number, unit: string, formula: string, section?: PlanSection) => {
    lines.push({ key, label, value, unit, formula, ...(section ? { section } : {}) });
    return value;
  };
  const perDay = add('msgsPerDay', 'messages per day', i.dau * i.msgsPerUserDay, 'msgs/day', 'dau × msgs-per-user-day');
  const avg = add('avgMsgsPerSec', 'average message rate', perDay / 86_400, 'msgs/s', 'msgs/day ÷ 86,400 s');
  const peak = add('peakMsgsPerSec', 'peak message rate', avg * i.peakFactor, 'msgs/s', 'average × peak-factor');
  const direct = 2 * i.devicesPerUser - 1;
  const group = (i.groupSize - 1) * i.devicesPerUser + i.devicesPerUser - 1;
  const fanout = add('devicesPerMessage', 'recipient devices per message', (1 - i.groupShare) * direct + i.groupShare * group, 'devices',
    '(1 − group-share) × (2·dpu − 1) + group-share × ((group-size − 1)·dpu + dpu − 1)');
  const deliveries = add('peakDeliveriesPerSec', 'peak deliveries', peak * fanout, 'deliveries/s', 'peak msgs/s × recipient devices per message');
  const devices = i.dau * i.devicesPerUser;
  const conc = add('concurrentConnections', 'concurrent connections at the peak', i.concurrent ?? devices * i.onlineShare, 'connections',
    i.concurrent !== undefined ? 'given (--concurrent)' : 'dau × devices-per-user × online-share');
  const use = 1 - i.headroom;
  const byConns = add('gatewaysForConnections', 'gateway nodes for connections', Math.ceil(conc / (i.connsPerNode * use)), 'nodes',
    `⌈connections ÷ (conns-per-node × (1 − headroom))⌉, conns-per-node ${fmt(i.connsPerNode)}`);
  // Frames a message causes at gateways: send + ack, and per recipient device: msg, recv, receipt, read.
  const frames = add('peakFramesPerSec', 'peak frames through gateways', peak * (2 + 4 * fanout), 'frames/s', 'peak msgs/s × (2 + 4 × recipient devices)');
  const byCpu = add('gatewaysForFrames', 'gateway nodes for frames (CPU)', Math.ceil(frames / (i.framesPerNodeSec * use)), 'nodes',
    `⌈frames/s ÷ (frames-per-node-s × (1 − headroom))⌉, frames-per-node-s ${fmt(i.framesPerNodeSec)}`);
  add('gatewayNodes', 'gateway nodes needed', Math.max(byConns, byCpu), 'nodes', 'max(for connections, for frames)');
  // Durable writes: the log append and one inbox entry per recipient device; the ack deletes it; a delivered receipt is written back.
  const writes = add('storeWritesPerSec', 'store writes at the peak', peak * (1 + 3 * fanout) * i.replication, 'writes/s',
    'peak msgs/s × (1 log append + per recipient device: inbox put, inbox delete, receipt) × replication');
  add('storeNodes', 'store nodes needed', Math.ceil(writes / (i.writesPerStoreNode * use)), 'nodes', `⌈writes/s ÷ (writes-per-store-node × (1 − headroom))⌉, ${fmt(i.writesPerStoreNode)} each`);
  add('messageLogBytes', 'message log for the retention window', perDay * i.retentionDays * i.messageBytes * i.replication, 'bytes',
    'msgs/day × retention days × message bytes × replication');
  add('inboxBytes', 'inbox storage for the retention window (offline devices)', perDay * fanout * (1 - i.onlineShare) * i.retentionDays * i.messageBytes * i.replication, 'bytes',
    'msgs/day × recipient devices × (1 − online-share) × retention days × message bytes × replication (worst case: nothing drained)');
  add('bandwidthBitsPerSec', 'gateway bandwidth at the peak', peak * (1 + fanout) * i.messageBytes * 8, 'bit/s', 'peak msgs/s × (1 in + recipient devices out) × message bytes × 8');
  add('pushPerSec', 'push notifications at the peak', deliveries * (1 - i.onlineShare), 'pushes/s', 'peak deliveries × (1 − online-share)');
  addMedia(i, (...a) => add(...a, 'media'), { perDay, peak, fanout, use });
  addCalls(i, (...a) => add(...a, 'calls'), use);
  return { input: i, lines, capacitySource };
}

/**
 * Calls: signalling goes through the gateways (a few frames a call, left
 * out of the chat tiers' figures), media device to device, except for the
 * relayed share, whose media a relay (TURN) carries. A relayed call is
 * counted on one relay with both its legs: the relay receives each end's
 * stream and sends it on to the other end, so its egress equals its
 * ingress: 2 streams × the call's bitrate. Payload only (no IP, UDP, RTP
 * or TURN headers); a call between two users, as the rate per direction.
 */
function addCalls(i: PlanInput, add: (key: string, label: string, value: number, unit: string, formula: string) => number, use: number): void {
  const attempts = add('callAttemptsPerSec', 'call attempts at the peak', (i.dau * i.callsPerUserDay * i.peakFactor) / 86_400, 'calls/s',
    'dau × calls-per-user-day × peak-factor ÷ 86,400 s');
  const concurrent = add('concurrentCalls', 'concurrent calls at the peak', attempts * i.callMinutes * 60, 'calls',
    "call attempts/s × call-minutes × 60 s (Little's law)");
  const relayed = add('relayedConcurrentCalls', 'relayed calls at the peak', concurrent * i.callRelayedShare, 'calls', 'concurrent calls × call-relayed-share');
  const bitrate = add('callBitsPerSec', 'mean call bitrate, one direction', (1 - i.callVideoShare) * i.callAudioKbps * 1000 + i.callVideoShare * i.callVideoKbps * 1000, 'bit/s',
    '(1 − call-video-share) × call-audio-kbps + call-video-share × call-video-kbps');
  const egress = add('relayEgressBitsPerSec', 'relay egress at the peak (ingress the same)', relayed * 2 * bitrate, 'bit/s',
    'relayed calls × 2 streams (one per direction, each received and sent on) × mean call bitrate');
  add('relayNodes', 'relay servers needed', Math.ceil(egress / (i.relayBitsPerSec * use)), 'nodes',
    `⌈relay egress ÷ (relay-bits-per-sec × (1 − headroom))⌉, ${fmt(i.relayBitsPerSec / 1e9)} Gbit/s each at ${fmt(use * 100)}% use`);
  add('relayBytesPerDay', 'relay egress per day', (i.dau * i.callsPerUserDay * i.callMinutes * 60 * i.callRelayedShare * 2 * bitrate) / 8, 'bytes/day',
    'dau × calls-per-user-day × call-minutes × 60 s × call-relayed-share × 2 streams × mean call bitrate ÷ 8');
}

/**
 * The media tier: a media message uploads its object once (unless the bytes
 * are already stored: a forward is answered `exists`), every recipient
 * device downloads it through a CDN edge, and an edge that misses fetches
 * it from the origin first. The chat tiers above carry only its reference.
 */
function addMedia(
  i: PlanInput,
  add: (key: string, label: string, value: number, unit: string, formula: string) => number,
  chat: { perDay: number; peak: number; fanout: number; use: number },
): void {
  const kinds = Object.entries(i.mediaMix).map(([k, e]) => `${k} ${e.weight} × ${exact(e.meanBytes)}B`).join(', ');
  const size = add('mediaMeanBytes', 'mean media object size', meanMediaBytes(i.mediaMix), 'bytes', `Σ weight × mean bytes ÷ Σ weight over the media mix (${kinds})`);
  const media = add('mediaMsgsPerSec', 'peak media messages', chat.peak * i.mediaShare, 'msgs/s', 'peak msgs/s × media-share');
  const fresh = 1 - i.mediaDedup;
  add('mediaUploadBytesPerSec', 'media upload at the peak (after dedup)', media * size * fresh, 'bytes/s', 'media msgs/s × mean media size × (1 − media-dedup)');
  const perDay = add('mediaBytesPerDay', 'new media stored per day (after dedup)', chat.perDay * i.mediaShare * size * fresh, 'bytes/day',
    'msgs/day × media-share × mean media size × (1 − media-dedup)');
  add('mediaStorageBytes', 'media storage for the retention window', perDay * i.mediaRetentionDays, 'bytes',
    'media bytes/day × media-retention days (before the object store\'s own redundancy)');
  const recipients = add('mediaRecipients', 'devices downloading each media message', i.mediaRecipients ?? chat.fanout, 'devices',
    i.mediaRecipients !== undefined ? 'given (--media-recipients)' : 'recipient devices per message');
  const download = add('mediaDownloadBytesPerSec', 'media download at the peak', media * recipients * size, 'bytes/s', 'media msgs/s × downloading devices × mean media size');
  const egress = add('edgeEgressBitsPerSec', 'CDN edge egress at the peak', download * 8, 'bit/s', 'media download bytes/s × 8 (every download leaves an edge)');
  add('originEgressBitsPerSec', 'origin egress at the peak (edge misses)', (1 - i.edgeHitRatio) * egress, 'bit/s', '(1 − edge-hit-ratio) × edge egress');
  add('edgeNodes', 'CDN edge nodes needed', Math.ceil(egress / (i.edgeBitsPerSec * chat.use)), 'nodes',
    `⌈edge egress ÷ (edge-bits-per-sec × (1 − headroom))⌉, ${fmt(i.edgeBitsPerSec / 1e9)} Gbit/s each`);
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  for (const [d, s] of [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'k']] as const) if (abs >= d) return `${trim(n / d)}${s}`;
  return trim(n);
}

function trim(n: number): string {
  return Number(n.toPrecision(3)).toString();
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
