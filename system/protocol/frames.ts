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

/** Frames a device sends. */
export type ClientFrame =
  | { t: 'hello'; token: string; resume?: boolean }
  | { t: 'send'; cid: string; to: string; body: string; kind?: 'text' | 'media' | 'e2e' }
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
  | { t: 'keys.fetch'; user: string }
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
  | { t: 'keys'; user: string; bundles: unknown[] }
  | { t: 'error'; code: string; message: string; cid?: string; retryable: boolean; retryAfterMs?: number }
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
} as const;
