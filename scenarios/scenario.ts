
/**
 * A scenario is data plus small behaviour functions, in k6's vocabulary:
 * `options.scenarios` holds executors (open-model arrival rates and
 * closed-loop VUs), `options.thresholds` holds pass/fail expressions. What
 * k6 does not have — a population of devices, a social graph, an
 * online/offline timeline and a chaos schedule — sits beside it.
 */
import type { z } from 'zod';
import type { executorSchema, groupSpecSchema, scenarioSchema, timelineEventSchema } from './schema.ts';

/** k6 executors chatlab implements. Durations are k6 strings: '500ms', '30s', '2m', '1h'. */
export type Executor = z.infer<typeof executorSchema>;

/** A population-wide change at a point of the run. */
export type TimelineEvent = z.infer<typeof timelineEventSchema>;

export type GroupSpec = z.infer<typeof groupSpecSchema>;

/** What a behaviour returns: who sends, to whom ('u12' or 'g:<gid>'). */
export interface Pick {
  from: number;
  to: string;
  /** Not a message: `from` posts a story, lists and views its contacts' stories, or calls (`to` is not used: the load picks callees among its contacts). */
  action?: 'story-post' | 'story-view' | 'call';
}

/** What a behaviour may look at to choose a message. All randomness comes from `random`. */
export interface PickContext {
  random: { next(): number; int(n: number): number };
  /** Online devices (population indices) in this driver worker. */
  onlineSenders: readonly number[];
  /** User of a device index. */
  userOf(dev: number): number;
  /** User id string of a user index. */
  userId(user: number): string;
  contactsOf(user: number): readonly number[];
  groupsOf(user: number): readonly string[];
  /** All group ids (conversation targets 'g:<gid>'), in population order. */
  groups: readonly string[];
  /** Users whose devices are offline in a cohort right now. */
  offlineUsers(cohort?: string): readonly number[];
  /** Run time in ms since the load started. */
  nowMs: number;
}

export type Behaviour = (ctx: PickContext) => Pick | undefined;

/**
 * A scenario: the fields of `scenarioSchema` (schema.ts, which documents
 * each), so the type and the check at the edge cannot drift. `exec` holds
 * the behaviour functions above.
 */
export type Scenario = z.infer<typeof scenarioSchema>;

/** A chaos schedule entry, typed by its fault kind (chaos/fault-schema.ts). */
export type { ChaosEntry } from '../chaos/fault-schema.ts';
