import { e2eeCostSchema } from './e2ee-cost.ts';
import { z } from 'zod';
import type { Dist } from './distribution.ts';

/** Link classes of the simulated network. */
export const LinkClasses = ['device-gateway', 'node-node', 'node-store', 'push'] as const;
export type LinkClass = (typeof LinkClasses)[number];

/** Frame kinds a node spends CPU on, by the client frame's `t` (everything else is `other`). */
export const FrameKinds = ['hello', 'send', 'recv', 'read', 'other'] as const;
export type FrameKind = (typeof FrameKinds)[number];

/** The simulated stores: Redis (registry, bus, sequencer, dedup, presence) and Cassandra (log, inbox, groups, keys, accounts). */
export const StoreKinds = ['redis', 'cassandra', 'push'] as const;
export type StoreKind = (typeof StoreKinds)[number];

const ms = z.number({ error: 'expected a number >= 0' }).min(0);

/** A `Dist` (distribution.ts) as a calibration file writes it. */
export const distSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), ms }),
  z.object({ kind: z.literal('lognormal'), p50Ms: ms, p99Ms: ms }).refine((d) => d.p99Ms >= d.p50Ms, {
    error: (i) => `expected p99Ms at or above p50Ms (${String((i.input as { p50Ms: number }).p50Ms)})`,
    path: ['p99Ms'],
  }),
  z.object({
    kind: z.literal('empirical'),
    quantilesMs: z.array(ms, { error: 'expected a list of quantiles' })
      .min(1, { error: 'expected a non-empty list of quantiles' })
      .refine((q) => q.every((v, i) => i === 0 || v >= q[i - 1]!), { error: 'expected ascending quantiles' }),
  }),
], { error: 'expected a distribution of kind constant, lognormal or empirical' });

// The schema and the Dist type cannot drift: this fails to compile if they do.
const distMatches: z.ZodType<Dist, unknown> = distSchema;
void distMatches;

/** A collector pause of a node's process: `pauseMs` every `everyCpuMs` of its other work. */
const pauseSchema = z.object({
  everyCpuMs: z.number({ error: 'expected a number of ms > 0' }).gt(0),
  pauseMs: z.number({ error: 'expected a number of ms >= 0' }).min(0),
  marking: z.object({
    ms: z.number({ error: 'expected a number of ms >= 0' }).min(0),
    share: z.number({ error: 'expected a number between 0 and 1' }).gt(0).lt(1),
  }, { error: 'expected {ms, share}: the marking before the pause, and its share of the loop' }).strict().optional(),
}, { error: 'expected {everyCpuMs, pauseMs, marking?}' }).strict();

const storeSchema = z.object({
  servers: z.number({ error: 'expected an integer >= 1' }).int().min(1),
  opMs: z.record(z.string(), distSchema).optional(),
});

/**
 * A calibration file: every section may be left out (the sim falls back to
 * the datacenter figures for it); what is given must be well formed.
 * `validateCalibration` (calibration.ts) fills the gaps.
 */
export const calibrationFileSchema = z.object({
  version: z.literal(1, { error: 'expected version 1' }),
  /** Not a string: the calibration is 'unnamed'. */
  source: z.string().optional().catch(undefined),
  links: z.partialRecord(z.enum(LinkClasses), distSchema).optional(),
  node: z.object({
    frameMs: z.partialRecord(z.enum(FrameKinds), distSchema).optional(),
    envelopeMs: distSchema.optional(),
    frameOutMs: distSchema.optional(),
    cpu: z.enum(['per-node', 'shared'], { error: 'expected "per-node" or "shared"' }).optional(),
    wakeMs: z.number({ error: 'expected a number of ms in [0, 10]' }).min(0).max(10).optional(),
    wakePer: z.enum(['idle', 'turn'], { error: 'expected "idle" or "turn"' }).optional(),
    readMs: z.number({ error: 'expected a number of ms in [0, 10]' }).min(0).max(10).optional(),
    gc: z.object({
      source: z.string().optional(),
      minor: pauseSchema.optional(),
      major: pauseSchema.optional(),
    }, { error: 'expected {minor, major}: the collection figures of `chatlab calibrate`' }).strict().optional(),
  }).optional(),
  stores: z.partialRecord(z.enum(StoreKinds), storeSchema).optional(),
  resolutionMs: z.number({ error: 'expected a number of ms in (0, 10]' }).gt(0).max(10).optional(),
  e2ee: e2eeCostSchema.optional(),
  driver: z.object({
    source: z.string().optional(),
    frameMs: z.number({ error: 'expected a number of ms >= 0' }).min(0),
    wakeMs: z.number({ error: 'expected a number of ms >= 0' }).min(0).optional(),
    readMs: z.number({ error: 'expected a number of ms >= 0' }).min(0).optional(),
    gcEveryFrames: z.number({ error: 'expected a number of frames > 0' }).gt(0),
    gcPauseMs: z.number({ error: 'expected a number of ms >= 0' }).min(0),
  }, { error: 'expected {frameMs, wakeMs, readMs, gcEveryFrames, gcPauseMs}: the driver figures of `chatlab calibrate`' }).strict().optional(),
  notes: z.record(z.string(), z.unknown()).optional(),
}, { error: 'expected a JSON object' });

export type CalibrationFile = z.infer<typeof calibrationFileSchema>;
