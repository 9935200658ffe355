import { z } from 'zod';
import { durationOrShareSchema } from '../system/clock/duration.ts';
import { LinkClasses, StoreKinds } from '../system/worlds/sim/calibration-schema.ts';

/**
 * A chaos schedule entry, one variant per fault kind, each with its own
 * options typed. Unknown options are refused (a misspelt `jiterMs` would
 * otherwise be a fault that silently does less). Checks that need the world
 * (which nodes and links exist) are the fault kind's own, in faults.ts.
 */

/** Where a network fault acts: a peer on every node ('redis') or one node's link ('node-2:redis'). */
export const NETWORK_PEERS = ['redis', 'cassandra', 'devices'] as const;
export const NETWORK_TARGET = /^(?:(node-\d+):)?(redis|cassandra|devices)$/;
const STREAMS = ['upstream', 'downstream', 'both'] as const;
/** A node of the local world's Cassandra ring: 'cassandra-2' or '2'. */
export const CASSANDRA_NODE_TARGET = /^(?:cassandra-)?([1-9])$/;

const number = (min: number, max = Infinity) =>
  z.number({ error: `expected a number ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`}` }).min(min).max(max);
const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `expected one of ${values.join(', ')}` });

/** When: a duration from the load's start ('9s') or a share of the load ('30%'); how long until it is reverted, the same forms. */
const when = { at: durationOrShareSchema, duration: durationOrShareSchema.optional() };

/** A fault aimed at nodes (`target`: 'node-2', '2', 'all'; omitted = the last node), or at a store or link class, where `target` is unused. */
const fault = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) =>
  z.strictObject({ fault: z.literal(kind), target: z.string({ error: 'expected a target like node-2, 2 or all' }).optional(), ...when, ...shape });

/** A network fault: `target` is a peer on every node ('redis') or one node's link ('node-2:redis'). */
const networkFault = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) =>
  z.strictObject({
    fault: z.literal(kind),
    target: z.string().regex(NETWORK_TARGET, { error: `expected ${NETWORK_PEERS.join(', ')} or node-<n>:<peer> (e.g. node-2:redis)` }),
    ...when,
    /** Direction of the toxic; each kind has its default. */
    stream: oneOf(STREAMS).optional(),
    ...shape,
  });

const slicer = networkFault('slicer', {
  /** Average piece, bytes. Default 64. */
  averageBytes: number(2).optional(),
  /** Spread of the piece size, below the average. Default half the average. */
  variationBytes: number(0).optional(),
  /** Pause between pieces, µs. Default 1000. */
  delayUs: number(0).optional(),
}).refine((e) => (e.variationBytes ?? 0) < (e.averageBytes ?? 64), {
  // Toxiproxy 2.5's slicer panics (slice bounds out of range) when the variation is not below the average.
  error: (i) => {
    const e = i.input as { averageBytes?: number; variationBytes?: number };
    return `expected variationBytes (${String(e.variationBytes)}) below averageBytes (${String(e.averageBytes ?? 64)})`;
  },
  path: ['variationBytes'],
});

export const chaosEntrySchema = z.discriminatedUnion('fault', [
  fault('node-kill', {}),
  fault('node-stop', {}),
  fault('node-pause', {}),
  fault('rolling-restart', {}),
  fault('redis-stop', {}),
  fault('cassandra-stop', {}),
  z.strictObject({
    fault: z.literal('cassandra-node-stop'),
    /** Which node of the Cassandra ring: 'cassandra-2' (or '2'); omitted = the last one. */
    target: z.string().regex(CASSANDRA_NODE_TARGET, { error: 'expected a Cassandra ring node like cassandra-2 (or 2)' }).optional(),
    ...when,
    /** How it goes: 'stop' (default), graceful (drains, announces its shutdown to its peers); 'kill', SIGKILL (a crash). */
    how: oneOf(['stop', 'kill'] as const).optional(),
  }),
  fault('partition', {
    /** Whom the node is cut off from: 'devices' (default), 'redis', 'cassandra' or another node ('node-3'). */
    peer: z.string().regex(/^(devices|redis|cassandra|node-\d+)$/, { error: 'expected devices, redis, cassandra or node-<n>' }).optional(),
  }),
  fault('link-latency', { link: oneOf(LinkClasses), ms: number(0) }),
  fault('link-loss', { link: oneOf(LinkClasses), /** Share of units lost. */ p: number(0, 1) }),
  fault('store-outage', { store: oneOf(StoreKinds) }),
  fault('relay-stop', {}),
  fault('relay-loss', { /** Share of relay packets dropped, each way. */ p: number(0, 1) }),
  networkFault('latency', { ms: number(0), /** ± this much, ms. Default 0. */ jitterMs: number(0).optional() }),
  networkFault('bandwidth', { kbPerSecond: number(1) }),
  networkFault('reset', { /** Reset after this long, ms. Default 0: at once. */ afterMs: number(0).optional() }),
  networkFault('timeout', { /** Close after this long, ms. Default 0: held open. */ afterMs: number(0).optional() }),
  slicer,
]);

/** A chaos schedule entry, typed by its fault kind. */
export type ChaosEntry = z.infer<typeof chaosEntrySchema>;
export type FaultName = ChaosEntry['fault'];
/** The entry of one fault kind. */
export type EntryOf<K extends FaultName> = Extract<ChaosEntry, { fault: K }>;
export type Stream = (typeof STREAMS)[number];

/** An entry as it arrives (a scenario file, a `POST /faults` body), before `chaosEntrySchema` has checked it. */
export interface ChaosEntryInput {
  fault: string;
  target?: string;
  at: string;
  duration?: string;
  [option: string]: unknown;
}

/** Every fault name, in the order of the schema. */
export const faultNames = chaosEntrySchema.options.map((o) => o.shape.fault.value) as FaultName[];
