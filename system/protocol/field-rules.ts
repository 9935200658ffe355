import { isUserId } from './ids.ts';

/**
 * Checks of one field of a client frame. Each returns undefined when the
 * value passes, or the problem as text naming the field and the rule — never
 * the value itself (a client string appears in an error only through
 * `excerpt`).
 */
export type Problem = string | undefined;

/** A decoded JSON object (not an array). */
export type Raw = Record<string, unknown>;

export function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Whether `s` is at most `max` bytes in UTF-8, counting only when the
 * character count cannot decide (a character is 1..3 bytes; a pair of
 * surrogates, two characters, is 4).
 */
export function fitsBytes(s: string, max: number): boolean {
  if (s.length > max) return false;
  if (s.length * 3 <= max) return true;
  return Buffer.byteLength(s, 'utf8') <= max;
}

/** A string of 1..max bytes (UTF-8). */
export function text(v: unknown, name: string, maxBytes: number): Problem {
  return typeof v === 'string' && v.length > 0 && fitsBytes(v, maxBytes) ? undefined : `${name} must be a string of 1..${maxBytes} bytes`;
}

/** An id made of [A-Za-z0-9_-], 1..64 characters: users, groups, mids, receipt ids. */
export function ident(v: unknown, name: string): Problem {
  return isUserId(v) ? undefined : `${name} must match [A-Za-z0-9_-]{1,64}`;
}

/** An integer in [min, max] (max at most Number.MAX_SAFE_INTEGER). */
export function int(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): Problem {
  return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `${name} must be an integer in [${min}, ${max}]`;
}

/** Absent, or one of `values`. */
export function oneOf(v: unknown, name: string, values: readonly string[]): Problem {
  return v === undefined || values.includes(v as string) ? undefined : `${name} must be one of ${values.join(', ')}`;
}

/** Absent, or a boolean. */
export function optionalBoolean(v: unknown, name: string): Problem {
  return v === undefined || typeof v === 'boolean' ? undefined : `${name} must be a boolean`;
}

/** An array of `min..max` items each passing `item`. */
export function list(v: unknown, name: string, min: number, max: number, item: (x: unknown) => boolean, what: string): Problem {
  return Array.isArray(v) && v.length >= min && v.length <= max && v.every(item) ? undefined : `${name} must be an array of ${min}..${max} ${what}`;
}

/** A message target: a user id or `g:<group id>`. */
export function target(v: unknown, name: string): Problem {
  if (isUserId(v)) return undefined;
  if (typeof v === 'string' && v.startsWith('g:') && isUserId(v.slice(2))) return undefined;
  return `${name} must be a user id or g:<group id>`;
}

/** A conversation: `d:<user>:<user>` (the two users sorted, as the node names it) or `g:<group id>`. */
export function conversation(v: unknown, name: string): Problem {
  if (typeof v === 'string') {
    if (v.startsWith('g:') && isUserId(v.slice(2))) return undefined;
    const parts = v.split(':');
    if (parts.length === 3 && parts[0] === 'd' && isUserId(parts[1]) && isUserId(parts[2]) && parts[1] <= parts[2]) return undefined;
  }
  return `${name} must be d:<user>:<user> (users sorted) or g:<group id>`;
}

/**
 * A short, printable excerpt of a client string for an error message: at
 * most 32 characters, anything but printable ASCII shown as '?', so no
 * client input can shape an error's text beyond a quoted word.
 */
export function excerpt(s: string): string {
  const cut = s.length > 32 ? `${s.slice(0, 32)}…` : s;
  return `"${cut.replace(/[^\x20-\x7e…]|["\\]/g, '?')}"`;
}
