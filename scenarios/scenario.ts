import type { ChaosEntry } from '../chaos/entry.ts';

/**
 * A scenario is data plus small behaviour functions, in k6's vocabulary:
 * `options.scenarios` holds executors (open-model arrival rates and
 * closed-loop VUs), `options.thresholds` holds pass/fail expressions. What
 * k6 does not have — a population of devices, a social graph, an
 * online/offline timeline and a chaos schedule — sits beside it.
 */

/** k6 executors chatlab implements. Durations are k6 strings: '500ms', '30s', '2m', '1h'. */
export type Executor =
  | {
      executor: 'constant-arrival-rate';
      /** Iterations (messages) per `timeUnit`, across all devices. */
      rate: number;
      timeUnit?: string;
      duration: string;
      startTime?: string;
      /** Which behaviour picks sender and recipient (a key of `Scenario.exec`). Default 'chat'. */
      exec?: string;
    }
  | {
      executor: 'ramping-arrival-rate';
      startRate: number;
      timeUnit?: string;
      stages: { target: number; duration: string }[];
      startTime?: string;
      exec?: string;
    }
  | {
      executor: 'constant-vus';
      /** Devices each sending in a closed loop: send, wait for the ack, think, repeat. */
      vus: number;
      duration: string;
      startTime?: string;
      /** Pause between an ack and the next send. Default 0. */
      thinkTimeMs?: number;
      exec?: string;
    };

/** A population-wide change at a point of the run. */
export interface TimelineEvent {
  at: string;
  /** offline: background the chosen devices; online: bring them back (spread over `windowMs`); drop: abrupt network drop, devices reconnect by themselves. */
  action: 'offline' | 'online' | 'drop';
  /** Share of devices chosen (deterministically from the seed), 0..1. */
  share: number;
  /** Spread the action over this window (reconnect storms use a short one). Default 0. */
  windowMs?: number;
  /** Which devices: a name shared by an offline and a later online event so they pick the same devices. */
  cohort?: string;
}

export interface GroupSpec {
  count: number;
  /** Members per group, including phantom ones. */
  members: number;
  /** Members without a device in the population: they count toward fan-out, never toward expected deliveries. */
  phantomMembers?: number;
  fanout?: 'write' | 'read';
}

/** What a behaviour returns: who sends, to whom ('u12' or 'g:<gid>'). */
export interface Pick {
  from: number;
  to: string;
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

export interface Scenario {
  name: string;
  description: string;
  population: {
    devices: number;
    devicesPerUser: number;
  };
  social: {
    contactsPerUser: number;
    groups: GroupSpec[];
  };
  behaviour: {
    bodyBytes: { min: number; max: number };
    /** Delay before a device reports reading a message; -1 never. */
    readDelayMs: number;
    /** Whether a push wake-up brings a backgrounded device online. Default true. */
    wakeOnPush?: boolean;
  };
  exec: Record<string, Behaviour>;
  options: {
    scenarios: Record<string, Executor>;
    thresholds: Record<string, string[]>;
  };
  timeline: TimelineEvent[];
  /** Faults at points of the run; see chaos/. */
  chaos: ChaosEntry[];
  /**
   * Load run before the measured window ('3s'): its latencies and late
   * counts are left out of the report's statistics and thresholds; its
   * messages still count toward delivery guarantees (a message lost in the
   * warm-up is lost). Every other time in the scenario is measured from the
   * end of the warm-up. See warmup.ts.
   */
  warmup?: string;
  /** Set by `expandWarmup` (the engines): where the measured window starts, ms. Never set it by hand. */
  measuredFromMs?: number;
  /** Deliveries count until this long after the load ends. */
  graceMs: number;
  /** A delivery slower than this counts as late. */
  lateMs: number;
  /** Nodes the world starts unless --nodes says otherwise. */
  nodes: number;
}

/** A chaos schedule entry: defined by the chaos schedule that runs it (chaos/entry.ts). */
export type { ChaosEntry };
