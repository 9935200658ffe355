/** A user: letters, digits, '-' and '_' (at most 64). */
export type UserId = string;
/** A device: `<user>.<n>`, n in 1..999 written without leading zeros, so the user is always recoverable from it. */
export type DeviceId = string;
export type NodeId = string;

const USER = /^[A-Za-z0-9_-]{1,64}$/;
const DEVICE = /^([A-Za-z0-9_-]{1,64})\.([1-9]\d{0,2})$/;

export function isUserId(s: unknown): s is UserId {
  return typeof s === 'string' && USER.test(s);
}

export function isDeviceId(s: unknown): s is DeviceId {
  return typeof s === 'string' && DEVICE.test(s);
}

export function userOf(device: DeviceId): UserId {
  const dot = device.lastIndexOf('.');
  return dot < 0 ? device : device.slice(0, dot);
}

export function deviceId(user: UserId, n: number): DeviceId {
  return `${user}.${n}`;
}

/** Direct conversations are named by their two users, sorted, so both sides agree. */
export function directConversation(a: UserId, b: UserId): string {
  // join builds one flat string: a template literal this long is a cons string, which as a key kept by the
  // sequencer and the log (one per conversation ever written) holds ~40 B more than the characters need.
  return a < b ? ['d', a, b].join(':') : ['d', b, a].join(':');
}

export function groupConversation(group: string): string {
  return `g:${group}`;
}

export function isGroupConversation(conv: string): boolean {
  return conv.startsWith('g:');
}

export function groupOf(conv: string): string {
  return conv.slice(2);
}

/** A node's ids (Snowflake mids and receipt ids): 18 lowercase hex digits. */
const NODE_ID = /^[0-9a-f]{18}$/;

/**
 * A node id as two exact 36-bit numbers (`nodeIdHigh`, `nodeIdLow`) and
 * back (`nodeIdOf`), for stores that keep millions of ids without a string
 * each. Other strings are not node ids (`isNodeId`) and stay strings.
 */
export function isNodeId(id: string): boolean {
  return NODE_ID.test(id);
}

/** The first 9 hex digits of node id `id` (check `isNodeId` first). */
export function nodeIdHigh(id: string): number {
  return hexAt(id, 0);
}

/** The last 9 hex digits of node id `id` (check `isNodeId` first). */
export function nodeIdLow(id: string): number {
  return hexAt(id, 9);
}

/** 9 lowercase hex digits from `at`, read digit by digit: a device reads two halves of every id it hears, and slicing made a string of each. */
function hexAt(id: string, at: number): number {
  let n = 0;
  for (let i = at; i < at + 9; i++) {
    const c = id.charCodeAt(i);
    n = n * 16 + (c <= 57 ? c - 48 : c - 87);
  }
  return n;
}

export function nodeIdOf(high: number, low: number): string {
  return high.toString(16).padStart(9, '0') + low.toString(16).padStart(9, '0');
}

/** A story id: 29 lowercase hex digits (see `storyId`). */
const STORY_ID = /^[0-9a-f]{29}$/;

/**
 * A story's id: its expiry (ms since the Unix epoch, 11 hex digits) then a
 * node id (18 hex digits, unique). Any node tells from the id alone whether
 * the story's time is over, even once its store has dropped it; string
 * order is expiry order.
 */
export function storyId(expiresAtMs: number, nodeId: string): string {
  return Math.max(0, Math.ceil(expiresAtMs)).toString(16).padStart(11, '0') + nodeId;
}

export function isStoryId(s: unknown): s is string {
  return typeof s === 'string' && STORY_ID.test(s);
}

/** The expiry a story id carries, in ms since the Unix epoch. */
export function storyExpiresAt(sid: string): number {
  return parseInt(sid.slice(0, 11), 16);
}
