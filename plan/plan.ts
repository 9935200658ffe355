import { z } from 'zod';
import { parseOrThrow } from '../system/schema/check.ts';
import type { Calibration } from '../system/worlds/sim/calibration.ts';
import { mean } from '../system/worlds/sim/distribution.ts';

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
}

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
};

export interface PlanLine {
  key: string;
  label: string;
  value: number;
  unit: string;
  formula: string;
}

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
  const add = (key: string, label: string, value: number, unit: string, formula: string) => {
    lines.push({ key, label, value, unit, formula });
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
  return { input: i, lines, capacitySource };
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
