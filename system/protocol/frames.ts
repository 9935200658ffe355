/**
 * The wire protocol: JSON text frames over one WebSocket per device.
 * docs/protocol.md is the reference for users; this file is the truth.
 */

/** A device's public pre-keys, base64url without padding (see key-bundle.ts for the rules). */
export interface PreKeyBundle {
  identityKey: string;
  signedPreKey: { id: number; key: string; signature: string };
  oneTimePreKeys: { id: number; key: string }[];
}

/** A story as `story.list` hands it out. */
export interface StoryItem {
  sid: string;
  /** The poster. */
  user: string;
  at: number;
  expiresAt: number;
  body: string;
}

/** Frames a device sends. */
export type ClientFrame =
  | { t: 'hello'; token: string; resume?: boolean }
  | {
      t: 'send'; cid: string; to: string;
      /** Absent only with `bodies` (then it reads as ""). */
      body?: string;
      kind?: 'text' | 'media' | 'e2e';
      /** A direct e2e send: one ciphertext per target device (device id → base64url). */
      bodies?: Record<string, string>;
      /** With `bodies`: the identity key each device's session was started with (device id → base64url), checked against what the device last published. */
      identities?: Record<string, string>;
      /** A group send: the `group.devices` version the sender encrypted for (required for kind e2e). */
      members?: string;
    }
  | { t: 'recv'; ids: string[] }
  | { t: 'read'; conv: string; upTo: number }
  | { t: 'typing'; to: string }
  | { t: 'presence.sub'; users: string[] }
  | { t: 'group.create'; name: string; members: string[]; gid?: string; fanout?: 'write' | 'read' }
  | { t: 'group.add'; gid: string; users: string[] }
  | { t: 'group.remove'; gid: string; users: string[] }
  | { t: 'group.list' }
  | { t: 'group.receipts'; gid: string; seq: number }
  | { t: 'keys.publish'; bundle: PreKeyBundle }
  | { t: 'keys.fetch'; user?: string; users?: string[] }
  | { t: 'keys.count' }
  | { t: 'keys.distribute'; cid: string; gid: string; bodies: Record<string, string> }
  | { t: 'group.devices'; gid: string }
  /** A story for `audience` (absent: anyone who asks) for the node's story lifetime; `body` is text or a media reference. */
  | { t: 'story.post'; cid: string; body: string; audience?: string[] }
  /** The stories of `users` this device's user may see; `after` continues an answer's `more`. */
  | { t: 'story.list'; cid: string; users: string[]; after?: string }
  | { t: 'story.view'; sid: string; cid?: string }
  | { t: 'story.views'; sid: string; cid?: string }
  | { t: 'ping' };

/** Frames the server sends. */
export type ServerFrame =
  | { t: 'welcome'; node: string; device: string; serverMs: number }
  | { t: 'ack'; cid: string; mid: string; seq: number; conv: string; ts: number; dup?: boolean }
  | { t: 'msg'; mid: string; seq: number; conv: string; from: string; body: string; ts: number; cid: string; kind?: string }
  | { t: 'receipt'; id: string; kind: 'delivered' | 'read'; conv: string; by: string; mid?: string; upTo?: number; ts: number }
  | { t: 'drained'; count: number }
  | { t: 'typing'; from: string; conv: string }
  | { t: 'presence'; user: string; online: boolean; lastSeenMs: number }
  | { t: 'group'; gid: string; name: string; members: string[]; fanout: 'write' | 'read' }
  | { t: 'groups'; groups: { gid: string; name: string; members: number }[] }
  | { t: 'group.receipts'; gid: string; seq: number; members: number; delivered: number; read: number; deliveredBitmap: string; readBitmap: string }
  | { t: 'keys'; user?: string; users?: string[]; bundles: unknown[] }
  | { t: 'keys.count'; remaining: number }
  | { t: 'keys.distributed'; cid: string; stale: string[] }
  | { t: 'skdm'; id: string; from: string; gid: string; body: string; ts: number }
  | { t: 'group.devices'; gid: string; devices: string[]; version: string; fanout: 'write' | 'read' }
  | { t: 'story.posted'; cid: string; sid: string; expiresAt: number }
  | {
      t: 'story.list'; cid: string; stories: StoryItem[];
      /** Present when the answer was cut short: ask again with these `users` and `after`. */
      more?: { users: string[]; after?: string };
    }
  | { t: 'story.viewed'; sid: string; by: string; at: number }
  | { t: 'story.views'; sid: string; count: number; viewers: { user: string; at: number }[]; cid?: string }
  | {
      t: 'error'; code: string; message: string; cid?: string; retryable: boolean; retryAfterMs?: number;
      /** `devices_changed`: target devices the send has no body for, and listed devices that are not targets. */
      missing?: string[];
      stale?: string[];
      /** `devices_changed`: devices whose published identity key is not the one the send names (reinstalled: start a new session). */
      changed?: string[];
    }
  | { t: 'pong'; serverMs: number };

/** Limits a frame must respect; docs/protocol.md lists them with the error each one answers. */
export const ProtocolLimits = {
  /** Largest frame accepted, in bytes (UTF-8). Larger frames get `too_large`. */
  maxFrameBytes: 64 * 1024,
  /** Largest message body, in bytes (UTF-8). Larger bodies get `too_large`. */
  maxBodyBytes: 60 * 1024,
  /** A client message id, in bytes (UTF-8). */
  maxCidBytes: 64,
  /** A session token, in characters (tokens are ASCII). */
  maxTokenChars: 1024,
  /** A group's name, in bytes (UTF-8). */
  maxGroupNameBytes: 200,
  maxIdsPerRecv: 1000,
  maxUsersPerRequest: 1000,
  /** One-time pre-keys in one `keys.publish`. */
  maxOneTimePreKeys: 100,
  /** Pre-key ids are 24-bit, as in Signal. */
  maxPreKeyId: 0xff_ffff,
  /** Entries of a direct e2e send's `bodies`: 2 × the node's default devicesPerUserMax (8), the recipient's and the sender's. */
  maxSendBodies: 16,
  /** Entries of one `keys.distribute`'s `bodies` (a bigger group takes several frames; the frame size binds first). */
  maxDistributeBodies: 1000,
  /** Users in one `keys.fetch`. */
  maxKeysFetchUsers: 100,
  /** A story's body, in bytes (UTF-8), as a send's. Larger bodies get `too_large`. */
  maxStoryBodyBytes: 60 * 1024,
  /** Users a story's audience names at most (the frame size may bind first). */
  maxStoryAudience: 1024,
  /** Users in one `story.list`. */
  maxStoryListUsers: 256,
} as const;
