import { Session } from 'node:inspector/promises';
import { constants } from 'node:perf_hooks';
import type { GcEntry } from './live/gc-pauses.ts';

/**
 * A stretch of this thread's time in the CPU profile: its sample's time
 * (performance.now()) and length; `work` marks the loop's own work (any
 * sample neither the collector nor idle), the rest are the collector's.
 */
export interface GcSample {
  at: number;
  ms: number;
  work?: true;
}

/**
 * What one major cycle cost the event loop: its incremental marking's
 * steps, its final pause, the wall time from marking to that pause, and
 * the loop's other work in that time (the marking's steps come with it).
 */
export interface MajorCycle {
  markingMs: number;
  finalMs: number;
  wallMs: number;
  workMs: number;
}

/** The profiler's sampling interval, µs: 1 ms, so a cycle's ~100 ms of marking is ~100 samples. */
const SAMPLE_US = 1000;

/**
 * This thread's time in the collector, from a V8 CPU profile (the
 * inspector's sampling profiler, in-process): every sample taken while V8
 * was collecting garbage is `(garbage collector)`. perf_hooks' `gc`
 * entries give a major cycle's final pause only; its incremental marking
 * runs in hundreds of small steps on the loop's own thread before it
 * (with `--single-threaded-gc`, all of it), and only samples see those.
 * The profiler costs the process a few % of CPU while it runs, so the run
 * it watches is not the one whose CPU a message is taken from.
 */
export class GcSampler {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: SAMPLE_US });
    await this.session.post('Profiler.start');
  }

  /** Stops the profile and returns its collector samples and its work samples, in time order. */
  async stop(): Promise<GcSample[]> {
    try {
      const { profile } = await this.session.post('Profiler.stop');
      return gcSamplesOf(profile, monotonicOffsetMs());
    } finally {
      this.session.disconnect();
    }
  }
}

/**
 * performance.now() is the monotonic clock less the process's time origin;
 * the profile's timestamps are the monotonic clock in µs. This is the
 * difference, in ms.
 */
function monotonicOffsetMs(): number {
  return Number(process.hrtime.bigint()) / 1e6 - performance.now();
}

/**
 * A profile's samples as GcSamples, each standing for the time until the
 * next one: `(garbage collector)` ones, and (`work`) those of the loop's
 * own work — every other sample but `(idle)`.
 */
export function gcSamplesOf(profile: { nodes: { id: number; callFrame: { functionName: string } }[]; samples?: number[]; timeDeltas?: number[]; startTime: number }, offsetMs: number): GcSample[] {
  const named = (name: string) => new Set(profile.nodes.filter((n) => n.callFrame.functionName === name).map((n) => n.id));
  const gc = named('(garbage collector)');
  const idle = named('(idle)');
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const out: GcSample[] = [];
  let us = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    us += deltas[i] ?? 0;
    const id = samples[i]!;
    if (idle.has(id)) continue;
    const sample: GcSample = { at: us / 1000 - offsetMs, ms: (deltas[i + 1] ?? SAMPLE_US) / 1000 };
    if (!gc.has(id)) sample.work = true;
    out.push(sample);
  }
  return out;
}

/**
 * Each major cycle among `entries` (perf_hooks `gc` entries, in time
 * order): the collector's samples from its marking's start — the
 * incremental-marking entry before it, or its own start without one — to
 * its final pause, less those inside a scavenge (the sim charges those
 * apart), the final pause itself, and the work samples in that time.
 */
export function majorCyclesOf(entries: readonly GcEntry[], samples: readonly GcSample[]): MajorCycle[] {
  const scavenges = entries.filter((e) => e.kind === constants.NODE_PERFORMANCE_GC_MINOR);
  const inScavenge = (at: number) => scavenges.some((s) => at >= s.at && at <= s.at + s.ms);
  const out: MajorCycle[] = [];
  let after = -Infinity;
  for (const m of entries) {
    if (m.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
    const marking = entries.filter((e) => e.kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL && e.at > after && e.at < m.at);
    const from = marking.length > 0 ? marking[0]!.at : m.at;
    const within = samples.filter((s) => s.at >= from && s.at < m.at);
    const markingMs = within.filter((s) => !s.work && !inScavenge(s.at)).reduce((n, s) => n + s.ms, 0);
    const workMs = within.filter((s) => s.work).reduce((n, s) => n + s.ms, 0);
    out.push({ markingMs, finalMs: m.ms, wallMs: m.at - from, workMs });
    after = m.at + m.ms;
  }
  return out;
}
