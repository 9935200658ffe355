import { z } from 'zod';
import { chaosEntrySchema } from '../chaos/fault-schema.ts';
import { parseThresholds } from '../reports/thresholds.ts';
import { durationSchema } from '../system/clock/duration.ts';
import type { Behaviour } from './scenario.ts';

/**
 * The scenario file format as a schema: `Scenario` (scenario.ts) is inferred
 * from it, so the type users write and the check at the edge cannot drift.
 * Every rule reads "expected …"; a refusal adds the field's path and the
 * value given (see system/schema/check.ts).
 */

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number({ error: `expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`}` }).int().min(min).max(max);
const atLeast = (min: number) => z.number({ error: `expected a number >= ${min}` }).min(min);
const positive = z.number({ error: 'expected a positive number' }).positive();
const text = z.string({ error: 'expected a string' });
const share = z.number({ error: 'expected a share in [0, 1]' }).min(0).max(1);

/** Which behaviour picks sender and recipient (a key of `Scenario.exec`). Default 'chat'. */
const exec = text.optional();

/** k6 executors chatlab implements. Durations are k6 strings: '500ms', '30s', '2m', '1h'. */
export const executorSchema = z.discriminatedUnion('executor', [
  z.object({
    executor: z.literal('constant-arrival-rate'),
    /** Iterations (messages) per `timeUnit`, across all devices. */
    rate: positive,
    timeUnit: durationSchema.optional(),
    duration: durationSchema,
    startTime: durationSchema.optional(),
    exec,
  }),
  z.object({
    executor: z.literal('ramping-arrival-rate'),
    startRate: atLeast(0),
    timeUnit: durationSchema.optional(),
    stages: z.array(z.object({ target: atLeast(0), duration: durationSchema }), { error: 'expected a list of stages' }),
    startTime: durationSchema.optional(),
    exec,
  }),
  z.object({
    executor: z.literal('constant-vus'),
    /** Devices each sending in a closed loop: send, wait for the ack, think, repeat. */
    vus: int(1),
    duration: durationSchema,
    startTime: durationSchema.optional(),
    /** Pause between an ack and the next send. Default 0. */
    thinkTimeMs: atLeast(0).optional(),
    exec,
  }),
], { error: 'expected executor constant-arrival-rate, ramping-arrival-rate or constant-vus' });

/** A population-wide change at a point of the run. */
export const timelineEventSchema = z.object({
  at: durationSchema,
  /**
   * offline: background the chosen devices; online: bring them back (spread
   * over `windowMs`); drop: abrupt network drop, devices reconnect by
   * themselves; reinstall: the app is reinstalled — a new identity key, no
   * sessions, a new bundle published (contacts see an identity change;
   * what was in flight to the old identity is undecryptable); rotate-keys:
   * the device makes a new signed pre-key and publishes it with fresh
   * one-time pre-keys, keeping the previous one for sessions still starting
   * from a bundle fetched before.
   */
  action: z.enum(['offline', 'online', 'drop', 'reinstall', 'rotate-keys'], { error: 'expected offline, online, drop, reinstall or rotate-keys' }),
  /** Share of devices chosen (deterministically from the seed), 0..1. */
  share: z.number({ error: 'expected a share in [0, 1]' }).min(0).max(1),
  /** Spread the action over this window (reconnect storms use a short one). Default 0. */
  windowMs: atLeast(0).optional(),
  /** Which devices: a name shared by an offline and a later online event so they pick the same devices. */
  cohort: text.optional(),
});

export const groupSpecSchema = z.object({
  count: int(0),
  /** Members per group, including phantom ones. */
  members: int(1),
  /** Members without a device in the population: they count toward fan-out, never toward expected deliveries. */
  phantomMembers: int(0).optional(),
  fanout: z.enum(['write', 'read'], { error: 'expected write or read' }).optional(),
});

const bodyBytes = z.object({ min: atLeast(1), max: z.number({ error: 'expected a number in [1, 60000]' }).min(1).max(60_000) }).refine((b) => b.max >= b.min, {
  error: (i) => `expected max >= min (${String((i.input as { min: number }).min)})`,
  path: ['max'],
});

/** A threshold map whose expressions parse (reports/thresholds.ts has the grammar). */
const thresholds = z.record(text, z.array(text, { error: 'expected a list of threshold expressions' })).superRefine((map, ctx) => {
  for (const [metric, expressions] of Object.entries(map)) {
    try {
      parseThresholds({ [metric]: expressions });
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: [metric], input: expressions, message: `expected threshold expressions like "p(99)<500": ${(e as Error).message}` });
    }
  }
});

const scenarioShape = z.object({
  name: text,
  description: text,
  population: z.object({
    devices: int(2),
    devicesPerUser: int(1, 9),
  }),
  social: z.object({
    contactsPerUser: int(0),
    groups: z.array(groupSpecSchema),
  }),
  behaviour: z.object({
    bodyBytes,
    /** Delay before a device reports reading a message; -1 never. */
    readDelayMs: atLeast(-1),
    /** Whether a push wake-up brings a backgrounded device online. Default true. */
    wakeOnPush: z.boolean({ error: 'expected true or false' }).optional(),
    /**
     * Share of messages that carry a media attachment (a thumbnail, a voice
     * note) of `bytes`. With end-to-end encryption the device seals it with a
     * random key (Signal's attachment scheme) and the key, digest and sealed
     * bytes travel inside the encrypted message (there is no object store
     * yet); without, it travels as plaintext `media`. At most 12 KiB, so a
     * message to 2 devices per user still fits a frame.
     */
    media: z.object({
      share: z.number({ error: 'expected a share in [0, 1]' }).min(0).max(1),
      bytes: z.object({ min: atLeast(1), max: z.number({ error: 'expected a number in [1, 12288]' }).min(1).max(12_288) }),
    }).optional(),
    /**
     * Share of messages that carry uploaded media (scenarios/media-kinds.ts
     * has the kinds and their default sizes): the sender uploads the bytes
     * to the media service (sealed first under end-to-end encryption), the
     * message carries a reference, and each recipient downloads them from
     * its CDN edge. The message counts as delivered when its media arrived
     * intact (path `media`). `kinds` overrides the default weight and size
     * range of any kind (a weight of 0 leaves it out). `forward`: the share
     * of received media a recipient forwards to one of its contacts (the
     * object is reused: the service answers "already stored" by its SHA-256
     * and nothing is uploaded again), to `fanout` contacts (default 1), up
     * to `hops` times along a chain.
     */
    uploads: z.object({
      share: z.number({ error: 'expected a share in [0, 1]' }).min(0).max(1),
      kinds: z.partialRecord(z.enum(['photo', 'voice', 'video', 'document'], { error: 'expected photo, voice, video or document' }), z.object({
        weight: atLeast(0),
        bytes: z.object({ min: atLeast(1), max: z.number({ error: 'expected a number in [1, 104857600]' }).min(1).max(100 * 1024 * 1024) })
          .refine((b) => b.max >= b.min, { error: 'expected max >= min', path: ['max'] }),
      })).optional(),
      forward: z.object({ share: z.number({ error: 'expected a share in [0, 1]' }).min(0).max(1), hops: int(1, 1000), fanout: int(1, 32).optional() }).optional(),
    }).optional(),
    /**
     * Voice and video calls (docs/protocol.md, Calls), placed by the `call`
     * behaviour. A call rings every device of its callees; a callee user
     * takes it (`answer`), declines it (`reject`) or lets it ring out, after
     * `pickUpMs`; the caller hangs up `durationS` after the answer (a
     * log-normal of that median and 90th percentile, at most `max`; cut so a
     * call ends within the run's grace period). A call between two users
     * both behind a symmetric NAT (each with chance `symmetricNat`) is
     * relayed through the world's TURN relay; the others go device to
     * device. `groupShare` of calls ring 2..`groupSize` contacts (mesh
     * signalling; media between the caller and each who answered).
     * `codecs` overrides the payload rate (kbit/s) and packet interval of
     * audio and video. Nothing heard from the peer for `silenceMs` ends a
     * call as `media_lost`. `ringMs` is the nodes' ring timeout.
     */
    calls: z.object({
      videoShare: share,
      durationS: z.object({ median: positive, p90: positive, max: positive })
        .refine((d) => d.p90 >= d.median && d.max >= d.median, { error: 'expected median <= p90 and median <= max' }),
      answer: share,
      reject: share,
      pickUpMs: z.object({ min: atLeast(0), max: atLeast(0) }).refine((p) => p.max >= p.min, { error: 'expected max >= min', path: ['max'] }),
      symmetricNat: share,
      groupShare: share.optional(),
      groupSize: int(3, 8).optional(),
      ringMs: int(1000, 120_000).optional(),
      silenceMs: int(500, 60_000).optional(),
      codecs: z.partialRecord(z.enum(['audio', 'video'], { error: 'expected audio or video' }), z.object({
        kbps: z.number({ error: 'expected kbit/s in [8, 4000]' }).min(8).max(4000),
        packetMs: int(5, 100),
      })).optional(),
    }).refine((c) => c.answer + c.reject <= 1, { error: 'expected answer + reject <= 1' }).optional(),
  }),
  exec: z.record(text, z.custom<Behaviour>((f) => typeof f === 'function', { error: 'expected a behaviour function' })),
  options: z.object({
    scenarios: z.record(text, executorSchema).refine((m) => Object.keys(m).length > 0, { error: 'expected at least one executor' }),
    thresholds,
  }),
  timeline: z.array(timelineEventSchema),
  /** Faults at points of the run; see chaos/. */
  chaos: z.array(chaosEntrySchema),
  /**
   * Load run before the measured window ('3s'): its latencies and late
   * counts are left out of the report's statistics and thresholds; its
   * messages still count toward delivery guarantees (a message lost in the
   * warm-up is lost). Every other time in the scenario is measured from the
   * end of the warm-up. See warmup.ts.
   */
  warmup: durationSchema.optional(),
  /** Set by `expandWarmup` (the engines): where the measured window starts, ms. Never set it by hand. */
  measuredFromMs: atLeast(0).optional(),
  /** Deliveries count until this long after the load ends. */
  graceMs: atLeast(0),
  /** A delivery slower than this counts as late. */
  lateMs: atLeast(0),
  /** Nodes the world starts unless --nodes says otherwise. */
  nodes: int(1, 64),
  /**
   * End-to-end encryption on the devices (Signal-style: X3DH, the Double
   * Ratchet per device pair, sender keys per group): the cluster carries
   * ciphertext only. Default true; `--no-e2ee` turns it off to compare.
   */
  e2ee: z.boolean({ error: 'expected true or false' }).optional(),
});

/** A scenario: its fields, then the rules between them (a VU is a device; an executor's behaviour exists). */
export const scenarioSchema = scenarioShape.superRefine((s, ctx) => {
  for (const [name, ex] of Object.entries(s.options.scenarios)) {
    const path = ['options', 'scenarios', name];
    if (ex.executor === 'constant-vus' && ex.vus > s.population.devices) {
      ctx.addIssue({ code: 'custom', path: [...path, 'vus'], input: ex.vus, message: `expected at most the population's ${s.population.devices} devices: each VU is a device` });
    }
    const behaviour = ex.exec ?? 'chat';
    if (!Object.hasOwn(s.exec, behaviour)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'exec'], input: behaviour, message: `expected a behaviour in scenario.exec (${Object.keys(s.exec).join(', ')})` });
    }
  }
});
