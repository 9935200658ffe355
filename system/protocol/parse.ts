import { ChatError } from './errors.ts';
import type { ClientFrame } from './frames.ts';
import { ProtocolLimits } from './frames.ts';
import { isUserId } from './ids.ts';

/**
 * Parses and validates one client frame. Never throws on bad input: returns
 * a ChatError (bad_frame, too_large, unknown_type) the node sends back.
 */
export function parseClientFrame(text: string): ClientFrame | ChatError {
  if (text.length > ProtocolLimits.maxFrameBytes) {
    return new ChatError('too_large', `frame of ${text.length} chars exceeds ${ProtocolLimits.maxFrameBytes}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return new ChatError('bad_frame', 'frame is not JSON');
  }
  return validateClientFrame(raw);
}

/**
 * Validates a client frame already decoded (a simulated link carries frame
 * objects, not bytes; the byte-size limit needs the encoding and is not
 * checked here). The frame is taken as is, not copied.
 */
export function validateClientFrame(raw: unknown): ClientFrame | ChatError {
  if (!isObject(raw) || typeof raw.t !== 'string') return new ChatError('bad_frame', 'frame must be an object with a string "t"');
  const check = validators[raw.t];
  if (!check) return new ChatError('unknown_type', `unknown frame type "${raw.t.slice(0, 32)}"`);
  const problem = check(raw);
  return problem ? new ChatError('bad_frame', `${raw.t}: ${problem}`) : (raw as unknown as ClientFrame);
}

type Raw = Record<string, unknown>;
type Validator = (f: Raw) => string | undefined;

const validators: Record<string, Validator> = {
  hello: (f) => (typeof f.token === 'string' ? undefined : 'token must be a string'),
  send: (f) =>
    str(f.cid, 'cid', ProtocolLimits.maxCidChars) ??
    target(f.to) ??
    (typeof f.body !== 'string'
      ? 'body must be a string'
      : f.body.length > ProtocolLimits.maxBodyChars
        ? `body exceeds ${ProtocolLimits.maxBodyChars} chars`
        : undefined) ??
    (f.kind === undefined || f.kind === 'text' || f.kind === 'media' || f.kind === 'e2e' ? undefined : 'kind must be text, media or e2e'),
  recv: (f) =>
    Array.isArray(f.ids) && f.ids.length <= ProtocolLimits.maxIdsPerRecv && f.ids.every((id) => typeof id === 'string' && id.length <= 64)
      ? undefined
      : `ids must be an array of at most ${ProtocolLimits.maxIdsPerRecv} strings`,
  read: (f) => str(f.conv, 'conv', 200) ?? seq(f.upTo, 'upTo'),
  typing: (f) => target(f.to),
  'presence.sub': (f) => users(f.users),
  'group.create': (f) =>
    str(f.name, 'name', 100) ?? users(f.members) ?? (f.gid === undefined ? undefined : ident(f.gid, 'gid')) ??
    (f.fanout === undefined || f.fanout === 'write' || f.fanout === 'read' ? undefined : 'fanout must be write or read'),
  'group.add': (f) => ident(f.gid, 'gid') ?? users(f.users),
  'group.remove': (f) => ident(f.gid, 'gid') ?? users(f.users),
  'group.list': () => undefined,
  'group.receipts': (f) => ident(f.gid, 'gid') ?? seq(f.seq, 'seq'),
  'keys.publish': (f) => (isObject(f.bundle) ? undefined : 'bundle must be an object'),
  'keys.fetch': (f) => (isUserId(f.user) ? undefined : 'user must be a user id'),
  ping: () => undefined,
};

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, name: string, max: number): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? undefined : `${name} must be a string of 1..${max} chars`;
}

function ident(v: unknown, name: string): string | undefined {
  return isUserId(v) ? undefined : `${name} must match [A-Za-z0-9_-]{1,64}`;
}

function seq(v: unknown, name: string): string | undefined {
  return Number.isInteger(v) && (v as number) >= 0 ? undefined : `${name} must be a non-negative integer`;
}

function target(v: unknown): string | undefined {
  if (isUserId(v)) return undefined;
  if (typeof v === 'string' && v.startsWith('g:') && isUserId(v.slice(2))) return undefined;
  return 'to must be a user id or g:<group id>';
}

function users(v: unknown): string | undefined {
  return Array.isArray(v) && v.length <= ProtocolLimits.maxUsersPerRequest && v.every(isUserId)
    ? undefined
    : `must be an array of at most ${ProtocolLimits.maxUsersPerRequest} user ids`;
}
