import { ChatError } from './errors.ts';
import { ProtocolLimits as L } from './frames.ts';
import { conversation, fitsBytes, ident, int, isObject, list, oneOf, optionalBoolean, target, text, type Problem, type Raw } from './field-rules.ts';
import { deviceBodiesProblem } from './device-bodies.ts';
import { isDeviceId, isNodeId, isStoryId, isUserId } from './ids.ts';
import { base64urlBytes, keyBundleProblem } from './key-bundle.ts';

/**
 * One rule per client frame type: a Problem (answered `bad_frame`), or a
 * ChatError when the protocol names another answer (`too_large` for a body,
 * `unauthorized` for a hello without a usable token).
 *
 * Fields the rule does not name are ignored. Fields are read as plain
 * properties: none of the names read here is a member of Object.prototype,
 * so a missing field reads as undefined.
 */
export type FrameRule = (f: Raw) => Problem | ChatError;

const isId = (x: unknown) => ident(x, '') === undefined;
const users = (v: unknown, name: string, min: number) => list(v, name, min, L.maxUsersPerRequest, isUserId, 'user ids');

/** A `cid` a device would recognise its answer by. */
export function cidProblem(v: unknown): Problem {
  return text(v, 'cid', L.maxCidBytes);
}

/** A send's `body`: a string of at most maxBodyBytes; it may be left out only when `bodies` carries the ciphertexts. */
function sendBody(f: Raw): Problem | ChatError {
  if (f.body === undefined && f.bodies !== undefined) return undefined;
  if (typeof f.body !== 'string') return 'body must be a string';
  return fitsBytes(f.body, L.maxBodyBytes) ? undefined : new ChatError('too_large', `send: body exceeds ${L.maxBodyBytes} bytes (UTF-8)`);
}

/** A story id as the node hands it out (`story.posted`, `story.list`). */
function storySid(v: unknown, name: string): Problem {
  return isStoryId(v) ? undefined : `${name} must be a story id (29 lowercase hex digits, as the node gave it)`;
}

/** A story's `body`: a non-empty string of at most maxStoryBodyBytes, which the node does not read. */
function storyBody(v: unknown): Problem | ChatError {
  if (typeof v !== 'string' || v.length === 0) return 'body must be a non-empty string (text or a media reference)';
  return fitsBytes(v, L.maxStoryBodyBytes) ? undefined : new ChatError('too_large', `story.post: body exceeds ${L.maxStoryBodyBytes} bytes (UTF-8)`);
}

/** A call id as the node hands it out (`call.placed`, `call.offer`): 18 lowercase hex digits. */
function callId(v: unknown): Problem {
  return typeof v === 'string' && isNodeId(v) ? undefined : 'call must be a call id (18 lowercase hex digits, as the node gave it)';
}

/** The users a `call.offer` rings: 1..maxCallSize − 1 distinct user ids (that the caller is not one of them is the node's check). */
function callees(v: unknown): Problem {
  const max = L.maxCallSize - 1;
  return list(v, 'to', 1, max, isUserId, 'user ids') ?? (new Set(v as string[]).size === (v as string[]).length ? undefined : 'to must name each user once');
}

/** A session description (offer or answer): a non-empty string of at most maxSdpBytes, which the node does not read. */
function sdp(v: unknown, frame: string): Problem | ChatError {
  if (typeof v !== 'string' || v.length === 0) return 'sdp must be a non-empty string (a session description)';
  return fitsBytes(v, L.maxSdpBytes) ? undefined : new ChatError('too_large', `${frame}: sdp exceeds ${L.maxSdpBytes} bytes (UTF-8)`);
}

/** An ICE candidate line of at most maxCandidateBytes ("" marks the end of candidates), which the node does not read. */
function candidate(v: unknown): Problem | ChatError {
  if (typeof v !== 'string') return 'candidate must be a string (an ICE candidate, "" for the end of candidates)';
  return fitsBytes(v, L.maxCandidateBytes) ? undefined : new ChatError('too_large', `call.candidate: candidate exceeds ${L.maxCandidateBytes} bytes (UTF-8)`);
}

/** Absent, or a usable cid. */
function optionalCid(v: unknown): Problem {
  return v === undefined ? undefined : cidProblem(v);
}

/**
 * The e2e fields of a send. A direct e2e send carries one ciphertext per
 * target device (`bodies`); a group e2e send carries one body (under the
 * sender key) and the member version it was encrypted for (`members`).
 * Each field is refused where it has no meaning, rather than ignored: a
 * device that put it there expects it to act.
 */
function e2eFields(f: Raw): Problem | ChatError {
  const group = (f.to as string).startsWith('g:');
  const e2e = f.kind === 'e2e';
  if (f.members !== undefined) {
    if (!group) return 'members is only for a group send';
    const problem = ident(f.members, 'members');
    if (problem) return problem;
  } else if (e2e && group) return 'a group e2e send must carry members (the group.devices version)';
  if (f.identities !== undefined && f.bodies === undefined) return 'identities is only for a send with bodies';
  if (f.bodies !== undefined) {
    if (!e2e) return 'bodies is only for kind "e2e"';
    if (group) return 'bodies is only for a direct send (a group e2e send has one body)';
    return deviceBodiesProblem(f.bodies, 'bodies', L.maxSendBodies) ?? identitiesProblem(f.identities, f.bodies as Record<string, unknown>);
  }
  if (e2e && !group) return 'a direct e2e send must carry bodies (device id → ciphertext)';
  return undefined;
}

/** `identities`: for devices named in `bodies` only, each a public key (base64url of 32..33 bytes). */
function identitiesProblem(v: unknown, bodies: Record<string, unknown>): Problem {
  if (v === undefined) return undefined;
  if (!isObject(v)) return 'identities must be an object of device id → identity key (base64url)';
  for (const d of Object.keys(v)) {
    if (!Object.hasOwn(bodies, d)) return `identities.${d} names a device bodies does not`;
    const n = typeof v[d] === 'string' ? base64urlBytes(v[d] as string) : -1;
    if (n < 32 || n > 33) return `identities.${d} must be base64url of a 32..33-byte public key`;
  }
  return undefined;
}

/**
 * Keyed by frame type in a Map: a type named after an Object.prototype
 * member (`__proto__`, `constructor`, `hasOwnProperty`, …) is unknown like
 * any other.
 */
export const frameRules: ReadonlyMap<string, FrameRule> = new Map<string, FrameRule>([
  ['hello', (f) =>
    typeof f.token !== 'string' || f.token.length === 0 || f.token.length > L.maxTokenChars
      ? new ChatError('unauthorized', `hello: token must be a string of 1..${L.maxTokenChars} chars`)
      : optionalBoolean(f.resume, 'resume')],
  ['send', (f) =>
    cidProblem(f.cid) ?? target(f.to, 'to') ?? sendBody(f) ?? oneOf(f.kind, 'kind', ['text', 'media', 'e2e']) ?? e2eFields(f)],
  ['recv', (f) => list(f.ids, 'ids', 1, L.maxIdsPerRecv, isId, 'ids ([A-Za-z0-9_-]{1,64})')],
  ['read', (f) => conversation(f.conv, 'conv') ?? int(f.upTo, 'upTo', 1)],
  ['typing', (f) => target(f.to, 'to')],
  ['presence.sub', (f) => users(f.users, 'users', 1)],
  ['group.create', (f) =>
    text(f.name, 'name', L.maxGroupNameBytes) ?? users(f.members, 'members', 0) ??
    (f.gid === undefined ? undefined : ident(f.gid, 'gid')) ?? oneOf(f.fanout, 'fanout', ['write', 'read'])],
  ['group.add', (f) => ident(f.gid, 'gid') ?? users(f.users, 'users', 1)],
  ['group.remove', (f) => ident(f.gid, 'gid') ?? users(f.users, 'users', 1)],
  ['group.list', () => undefined],
  ['group.receipts', (f) => ident(f.gid, 'gid') ?? int(f.seq, 'seq', 1)],
  ['keys.publish', (f) => keyBundleProblem(f.bundle)],
  ['keys.fetch', (f) =>
    f.users === undefined ? ident(f.user, 'user')
    : f.user !== undefined ? 'give either user or users, not both'
    : list(f.users, 'users', 1, L.maxKeysFetchUsers, isUserId, 'user ids')],
  ['keys.count', () => undefined],
  ['keys.distribute', (f) => cidProblem(f.cid) ?? ident(f.gid, 'gid') ?? deviceBodiesProblem(f.bodies, 'bodies', L.maxDistributeBodies)],
  ['keys.introduce', (f) => cidProblem(f.cid) ?? deviceBodiesProblem(f.bodies, 'bodies', L.maxIntroduceBodies)],
  ['group.devices', (f) => ident(f.gid, 'gid')],
  ['story.post', (f) =>
    cidProblem(f.cid) ?? storyBody(f.body) ??
    (f.audience === undefined ? undefined : list(f.audience, 'audience', 0, L.maxStoryAudience, isUserId, 'user ids'))],
  ['story.list', (f) =>
    cidProblem(f.cid) ?? list(f.users, 'users', 1, L.maxStoryListUsers, isUserId, 'user ids') ??
    (f.after === undefined ? undefined : storySid(f.after, 'after'))],
  ['story.view', (f) => storySid(f.sid, 'sid') ?? optionalCid(f.cid)],
  ['story.views', (f) => storySid(f.sid, 'sid') ?? optionalCid(f.cid)],
  ['call.offer', (f) =>
    cidProblem(f.cid) ?? callees(f.to) ??
    (f.media === 'audio' || f.media === 'video' ? undefined : 'media must be one of audio, video') ?? sdp(f.sdp, 'call.offer')],
  ['call.ringing', (f) => callId(f.call)],
  ['call.answer', (f) => callId(f.call) ?? sdp(f.sdp, 'call.answer')],
  ['call.candidate', (f) => callId(f.call) ?? (isDeviceId(f.to) ? undefined : 'to must be a device id (<user>.<n>)') ?? candidate(f.candidate)],
  ['call.reject', (f) => callId(f.call)],
  ['call.busy', (f) => callId(f.call)],
  ['call.hangup', (f) => callId(f.call)],
  ['ping', () => undefined],
]);

