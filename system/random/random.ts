/**
 * Seeded randomness. One seed at the top of a run; every subsystem forks a
 * child stream by label, so adding a consumer in one place does not shift the
 * numbers another place sees.
 *
 * Guarantee: the same seed and the same sequence of calls give the same
 * numbers on every host.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A child stream, deterministic in (this stream's seed, label). */
  fork(label: string): Random;
  readonly seed: number;
}

/** Small fast PRNG (mulberry32) with FNV-1a label hashing for forks. */
export class SeededRandom implements Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  fork(label: string): Random {
    return new SeededRandom(hash32(label, this.seed));
  }
}

/** FNV-1a step over the decimal digits of a non-negative integer. */
function fnvDigits(h: number, n: number): number {
  let p = 1;
  while (p * 10 <= n) p *= 10;
  for (; p >= 1; p /= 10) {
    h ^= 48 + (Math.floor(n / p) % 10);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** hash32(`${a}:${b}`, seed) for non-negative integers a and b, without building the string (a hot path's garbage). */
export function hash32Pair(a: number, b: number, seed = 0): number {
  let h = fnvDigits((0x811c9dc5 ^ seed) >>> 0, a);
  h ^= 58; // ':'
  h = Math.imul(h, 0x01000193) >>> 0;
  return fnvDigits(h, b) >>> 0;
}

/** FNV-1a over the label, mixed with a seed. Stable across hosts. */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
