import { z } from 'zod';
import { shown } from '../schema/check.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const SHARE = /^(\d+(?:\.\d+)?)%$/;

/** The rule every duration refusal states. */
export const DURATION_RULE = 'expected a duration like 500ms, 30s, 2m or 1h30m';

/** Whether `text` is a duration `parseDuration` takes: a k6 string (surrounding spaces allowed) or a number of ms >= 0. */
export function isDuration(text: unknown): text is string | number {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0;
  return typeof text === 'string' && DURATION.test(text.trim());
}

/**
 * The one duration parser: k6 strings '250ms', '30s', '1m30s', '2h' (parts
 * add up, decimals allowed: '1.5s'). A number is already milliseconds.
 * Throws a RangeError naming `what` otherwise.
 */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (!isDuration(text)) throw new RangeError(`${what}: ${DURATION_RULE}, got ${shown(text)}`);
  if (typeof text === 'number') return text;
  let total = 0;
  for (const [, n, unit] of text.trim().matchAll(PART)) total += Number(n) * UNITS[unit!]!;
  return total;
}

/** A share of the load ('30%') as a fraction (0.3); undefined when `text` is not one. */
export function parseShare(text: unknown): number | undefined {
  const m = SHARE.exec(String(text));
  return m ? Number(m[1]) / 100 : undefined;
}

/** A duration field of a scenario, fault or command line: a k6 string (a number of ms is taken too). */
export const durationSchema = z.custom<string>((v) => isDuration(v), { error: DURATION_RULE });

/** A point or span of a run: a duration ('9s') or a share of the load ('30%'), so schedules scale with --duration. */
export const durationOrShareSchema = z.custom<string>((v) => isDuration(v) || parseShare(v) !== undefined, {
  error: `${DURATION_RULE}, or a share of the load like 30%`,
});

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
