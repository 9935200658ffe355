/**
 * Where a run's main-thread CPU went, by part of chatlab: a V8 CPU profile
 * (`.cpuprofile`, as the inspector's `Profiler.stop` returns it) summed by
 * component, so a benchmark can say how many microseconds of a message each
 * part costs. Self time only (a function's callees count for their own
 * component); V8 builtins a function calls (Map lookups, JSON.parse, Promise
 * resolution) count for that function, as the profile records them.
 */

/** The parts of a profile this needs (the inspector's Profiler.Profile). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export const Components = [
  'node core',
  'stores and caches',
  'devices',
  'engine',
  'sim world',
  'gc',
  'promise jobs',
  'other',
] as const;
export type Component = (typeof Components)[number];

/**
 * The component of a profile frame, by its source path:
 * - `node core`: system/node, system/protocol, system/auth (ChatNode, frames, tokens);
 * - `stores and caches`: the memory adapters (system/inbox, log, accounts, registry, presence,
 *   sequencer, bus, dedup, groups, keys, push) and system/cache (the TtlCache of the node's directory and dedup);
 * - `devices`: scenarios/device and the population (the virtual device state machine);
 * - `engine`: scenarios/engine and reports (the DeviceLedger, the load, the checker);
 * - `sim world`: system/worlds/sim and the virtual clock (links, queues, the event loop);
 * - `gc`: V8's `(garbage collector)` frame (main-thread pauses and incremental steps);
 * - `promise jobs`: V8's microtask runner and Node's tick queue (the glue of every await);
 * - `other`: everything else (libraries, Node internals, idle).
 */
export function componentOf(url: string, functionName: string): Component {
  if (!url) {
    if (functionName === '(garbage collector)') return 'gc';
    if (functionName === 'runMicrotasks' || functionName === 'enqueueMicrotask') return 'promise jobs';
    return 'other';
  }
  if (url.includes('/node_modules/')) return 'other';
  if (url.startsWith('node:internal/process/task_queues')) return 'promise jobs';
  if (/\/system\/(node|protocol|auth)\//.test(url)) return 'node core';
  if (/\/system\/(inbox|log|accounts|registry|presence|sequencer|bus|dedup|groups|keys|push|cache)\//.test(url)) return 'stores and caches';
  if (url.includes('/system/worlds/sim/') || url.includes('/system/clock/clock-virtual')) return 'sim world';
  if (url.includes('/scenarios/device/') || url.includes('/scenarios/population')) return 'devices';
  if (url.includes('/scenarios/engine/') || url.includes('/reports/')) return 'engine';
  return 'other';
}

export interface ComponentTime {
  component: Component;
  /** Main-thread seconds in the component's own frames. */
  seconds: number;
  /** Of the profile's span. */
  share: number;
}

export interface CpuBreakdown {
  spanSeconds: number;
  components: ComponentTime[];
}

/**
 * Sums a profile's samples by component. A sample's time is the gap to the
 * next one (the last sample gets the profile's end), so a busy stretch with
 * sparse samples is not undercounted.
 */
export function cpuBreakdown(profile: CpuProfile): CpuBreakdown {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (deltas.length !== samples.length) throw new Error(`cpu profile: ${samples.length} samples but ${deltas.length} time deltas`);
  const of = new Map<number, Component>();
  for (const n of profile.nodes) of.set(n.id, componentOf(n.callFrame.url, n.callFrame.functionName));
  const micros = new Map<Component, number>(Components.map((c) => [c, 0]));
  // Sample i is taken deltas[i] after the one before it and lasts until the next (the last one, until the end).
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i]!;
    const c = of.get(samples[i]!);
    if (c === undefined) throw new Error(`cpu profile: sample ${i} names node ${samples[i]}, which the profile does not have`);
    const lasts = i + 1 < samples.length ? deltas[i + 1]! : profile.endTime - at;
    micros.set(c, micros.get(c)! + Math.max(0, lasts));
  }
  const span = Math.max(0, profile.endTime - profile.startTime);
  return {
    spanSeconds: span / 1e6,
    components: Components.map((component) => ({ component, seconds: micros.get(component)! / 1e6, share: span > 0 ? micros.get(component)! / span : 0 })),
  };
}

/** One line per component: seconds, share, and microseconds per message when `messages` > 0. */
export function formatBreakdown(b: CpuBreakdown, messages: number): string[] {
  const lines = b.components
    .filter((c) => c.seconds > 0)
    .sort((x, y) => y.seconds - x.seconds)
    .map((c) => {
      const per = messages > 0 ? `, ${((c.seconds * 1e6) / messages).toFixed(0)} µs a message` : '';
      return `${c.component}: ${c.seconds.toFixed(1)} s (${(c.share * 100).toFixed(1)}%)${per}`;
    });
  const per = messages > 0 ? `, ${messages} messages sent in it: ${((b.spanSeconds * 1e6) / messages).toFixed(0)} µs a message` : '';
  return [`main thread over ${b.spanSeconds.toFixed(1)} s${per}`, ...lines];
}
