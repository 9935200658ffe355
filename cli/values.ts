import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { cpuListSchema } from '../scenarios/cpu-list.ts';
import { durationSchema } from '../system/clock/duration.ts';
import { parseOrThrow } from '../system/schema/check.ts';

/**
 * Command-line values, each a schema: a bad one is refused by commander as
 * one line naming the option, the rule and the value
 * (`--devices: expected an integer in [2, 10000000], got -5`), then the hint.
 */

/** A commander option parser from a schema over the option's text. */
export function optionValue<S extends z.ZodType>(name: string, schema: S): (text: string) => z.output<S> {
  return (text) => parseOrThrow(schema, text, name, (m) => new InvalidArgumentError(m));
}

/** Option text that reads (as `Number` reads it) as a number meeting `ok`. */
const numeric = (rule: string, ok: (n: number) => boolean) => z.string().refine((v) => ok(Number(v)), { error: rule }).transform(Number);

/** An integer in [min, max]. */
export const int = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  optionValue(name, numeric(`expected an integer in [${min}, ${max}]`, (n) => Number.isInteger(n) && n >= min && n <= max));

/** A finite number > 0 (rates, milliseconds). */
export const positive = (name: string) => optionValue(name, numeric('expected a positive number', (n) => n > 0 && Number.isFinite(n)));

/** A k6 duration ('500ms', '30s', '2m', '1h30m'), kept as written. */
export const duration = (name: string) => optionValue(name, durationSchema);

/** CPUs as taskset takes them. */
export const cpuList = (name: string) => optionValue(name, cpuListSchema);

/** Comma-separated items, blanks dropped: at least one. */
const itemsSchema = z
  .string()
  .refine((v) => v.split(',').some((x) => x.trim() !== ''), { error: 'expected at least one value, comma-separated' })
  .transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean));

const RANGE = /^(\d+)-(\d+)$/;
const RANGE_MAX = 10_000;

/** `from-to` with from <= to, at most RANGE_MAX + 1 values. */
const rangeSchema = z
  .string()
  .refine((x) => {
    const [, from, to] = RANGE.exec(x)!.map(Number) as [number, number, number];
    return from <= to && to - from <= RANGE_MAX;
  }, { error: `expected a range low-high of at most ${RANGE_MAX.toLocaleString('en-US')}` })
  .transform((x) => RANGE.exec(x)!.slice(1).map(Number) as [number, number]);

/**
 * A comma-separated list (`a,b`). With an item parser, every item goes
 * through it and a range `1-8` stands for each number in it.
 */
export function list(name: string): (text: string) => string[];
export function list<T>(name: string, item: (text: string) => T): (text: string) => T[];
export function list<T>(name: string, item?: (text: string) => T): (text: string) => (T | string)[] {
  return (text) =>
    optionValue(name, itemsSchema)(text).flatMap((x): (T | string)[] => {
      if (!item) return [x];
      if (!RANGE.test(x)) return [item(x)];
      const [from, to] = optionValue(name, rangeSchema)(x);
      return Array.from({ length: to - from + 1 }, (_, i) => item(String(from + i)));
    });
}
