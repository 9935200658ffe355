/**
 * Memory growth of a node over a soak: heap and RSS samples, split by
 * process (a restart starts a new one), fitted per process by least squares
 * after the warm-up, and averaged weighted by samples: MB per hour.
 */
export interface MemSample {
  pid: number;
  /** ms since the soak started. */
  atMs: number;
  heapMB: number;
  rssMB: number;
}

export interface Growth {
  heapMBPerHour: number | null;
  rssMBPerHour: number | null;
  /** Process lifetimes that had enough samples to fit. */
  segments: number;
  samples: number;
}

/** Least-squares slope of y over x; null with fewer than 2 distinct x. */
export function slope(points: [number, number][]): number | null {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/**
 * Growth after `warmupMs` of the soak, skipping also the first minute (or
 * `warmupMs` if shorter) of each restarted process, from process lifetimes
 * with at least `minSamples` samples left.
 */
export function growth(samples: MemSample[], o: { warmupMs: number; minSamples: number }): Growth {
  const byPid = new Map<number, MemSample[]>();
  for (const s of samples) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
  let heap = 0;
  let rss = 0;
  let weight = 0;
  let segments = 0;
  for (const list of byPid.values()) {
    const born = list[0]!.atMs;
    const kept = list.filter((s) => s.atMs >= o.warmupMs && s.atMs - born >= Math.min(o.warmupMs, 60_000));
    if (kept.length < o.minSamples) continue;
    const h = slope(kept.map((s) => [s.atMs / 3_600_000, s.heapMB]));
    const r = slope(kept.map((s) => [s.atMs / 3_600_000, s.rssMB]));
    if (h === null || r === null) continue;
    heap += h * kept.length;
    rss += r * kept.length;
    weight += kept.length;
    segments++;
  }
  return { heapMBPerHour: weight ? heap / weight : null, rssMBPerHour: weight ? rss / weight : null, segments, samples: weight };
}
