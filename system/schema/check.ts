import type { z } from 'zod';

/**
 * The one way an input is refused at the edge: every schema states its rule
 * as "expected …", and a refusal names where the value sits, the rule and
 * the value given — `options.scenarios.peak.rate: expected a positive
 * number, got -5` — so a reader can fix the input without reading code.
 */

/** `where` joined with a schema path: `chaos[0]` + `['ms']` → `chaos[0].ms`. */
export function pathOf(where: string, path: readonly PropertyKey[]): string {
  let out = where;
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`;
  return out;
}

/** A value as a refusal shows it: strings quoted, missing ones as "nothing", long ones cut. */
export function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** One issue as a line: where it is, what was expected, what was given. */
export function describeIssue(issue: z.core.$ZodIssue, where = ''): string {
  const at = pathOf(where, issue.path);
  const prefix = at === '' ? '' : `${at}: `;
  if (issue.code === 'unrecognized_keys') return `${prefix}unknown ${issue.keys.length === 1 ? 'field' : 'fields'} ${issue.keys.join(', ')}`;
  const rule = issue.message.startsWith('expected ') ? issue.message : ruleOf(issue);
  return `${prefix}${rule}${'input' in issue ? `, got ${shown(givenAt(issue))}` : ''}`;
}

/**
 * The value the issue is about. A rule over an object (a discriminator, a
 * comparison of two fields) reports the whole object with the path of one
 * field: show that field.
 */
function givenAt(issue: z.core.$ZodIssue): unknown {
  const key = issue.path.at(-1);
  const input = issue.input;
  if (typeof key === 'string' && typeof input === 'object' && input !== null && !Array.isArray(input) && Object.hasOwn(input, key)) return (input as Record<string, unknown>)[key];
  return input;
}

/** The rule of an issue whose schema gave no "expected …" message of its own. */
function ruleOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected === 'object' ? 'an object' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`;
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `expected at least ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}`;
    case 'too_big':
      return `expected at most ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}`;
    default:
      return `expected ${issue.message}`;
  }
}

/** Every problem with `value`, one line each (empty when it conforms). */
export function problemsOf(schema: z.ZodType, value: unknown, where = ''): string[] {
  const r = schema.safeParse(value, { reportInput: true });
  return r.success ? [] : r.error.issues.map((i) => describeIssue(i, where));
}

/**
 * Parses `value` or throws `refuse(lines)` naming its first problem (and how
 * many more there are), so one bad input gives one error line.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where = '', refuse: (message: string) => Error = (m) => new RangeError(m)): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => describeIssue(i, where));
  throw refuse(lines.length === 1 ? lines[0]! : `${lines[0]!} (and ${lines.length - 1} more: ${lines.slice(1).join('; ')})`);
}
