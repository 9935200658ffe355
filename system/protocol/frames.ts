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

/** Short-lived TURN credentials (TURN REST API style), minted by the node for one user. */
export interface TurnCredentials {
  /** `turn:host:port?transport=udp` URLs of the operator's relays. */
  urls: string[];
  /** `<expiry, Unix seconds>:<user id>`. */
  username: string;
  /** base64(HMAC-SHA1(shared secret, username)). */
  credential: string;
  /** Seconds the credentials stay valid from when they were minted. */
  ttl: number;
}

/** What a call carries: its codec rates are the device's (docs/protocol.md, Calls). */
export type CallMedia = 'audio' | 'video';

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
  /** Pairwise session messages outside any conversation (each listed device its own ciphertext): sessions set up before a first message. */
  | { t: 'keys.introduce'; cid: string; bodies: Record<string, string> }
  | { t: 'group.devices'; gid: string }
  /** A story for `audience` (absent: anyone who asks) for the node's story lifetime; `body` is text or a media reference. */
  | { t: 'story.post'; cid: string; body: string; audience?: string[] }
  /** The stories of `users` this device's user may see; `after` continues an answer's `more`. */
  | { t: 'story.list'; cid: string; users: string[]; after?: string }
  | { t: 'story.view'; sid: string; cid?: string }
  | { t: 'story.views'; sid: string; cid?: string }
  /** Rings every device of `to` (one user, or up to maxCallSize − 1 users for a group call); answered `call.placed`. */
  | { t: 'call.offer'; cid: string; to: string[]; media: CallMedia; sdp: string }
  /** This device is ringing for `call` (told to the caller's device). */
  | { t: 'call.ringing'; call: string }
  /** Takes the call on this device: the caller's device gets the answer, this user's other devices stop ringing. */
  | { t: 'call.answer'; call: string; sdp: string }
  /** An ICE candidate for one device of the call (trickle ICE; relayed, never stored). */
  | { t: 'call.candidate'; call: string; to: string; candidate: string }
  /** Declines the call for this user (all of its devices stop ringing). */
  | { t: 'call.reject'; call: string }
  /** Declines the call as busy (the device is in another call the node does not know of). */
  | { t: 'call.busy'; call: string }
  /** Ends the call (the caller) or leaves it (a callee who answered); declines it while it rings. */
  | { t: 'call.hangup'; call: string }
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
  | { t: 'keys.introduced'; cid: string; stale: string[] }
  | { t: 'intro'; id: string; from: string; body: string; ts: number }
  | { t: 'group.devices'; gid: string; devices: string[]; version: string; fanout: 'write' | 'read' }
  | { t: 'story.posted'; cid: string; sid: string; expiresAt: number }
  | {
      t: 'story.list'; cid: string; stories: StoryItem[];
      /** Present when the answer was cut short: ask again with these `users` and `after`. */
      more?: { users: string[]; after?: string };
    }
  | { t: 'story.viewed'; sid: string; by: string; at: number }
  | { t: 'story.views'; sid: string; count: number; viewers: { user: string; at: number }[]; cid?: string }
  /** Answer to `call.offer`: the call's id, when ringing stops, and this user's TURN credentials. */
  | { t: 'call.placed'; cid: string; call: string; ringUntil: number; turn: TurnCredentials }
  /** A call for this device: ring until `ringUntil` (server ms) unless told otherwise. `users` lists a group call's callees. */
  | {
      t: 'call.offer'; call: string; from: string; device: string; media: CallMedia; sdp: string;
      ringUntil: number; users: string[]; turn: TurnCredentials;
    }
  /** To the caller's device: `device` of `user` is ringing. */
  | { t: 'call.ringing'; call: string; user: string; device: string }
  /** To the caller's device: `device` of `user` took the call. */
  | { t: 'call.answer'; call: string; user: string; device: string; sdp: string }
  /** To the other devices of the user who answered: stop ringing. */
  | { t: 'call.answered-elsewhere'; call: string; device: string }
  | { t: 'call.candidate'; call: string; from: string; device: string; candidate: string }
  /** `user` declined: to the caller's device and to the user's other devices (stop ringing). */
  | { t: 'call.reject'; call: string; user: string }
  /** `user` is in another call: to the caller's device (and to the user's other devices when a device said busy). */
  | { t: 'call.busy'; call: string; user: string }
  /** `user` hung up or left: to every other device in or ringing for the call. */
  | { t: 'call.hangup'; call: string; user: string }
  /** Nobody answered in time: `users` who did not (to the caller's device); to a ringing device, stop ringing. */
  | { t: 'call.timeout'; call: string; users: string[] }
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
  /** Entries of one `keys.introduce`'s `bodies` (the frame size may bind first). */
  maxIntroduceBodies: 1000,
  /** Users in one `keys.fetch`. */
  maxKeysFetchUsers: 100,
  /** A story's body, in bytes (UTF-8), as a send's. Larger bodies get `too_large`. */
  maxStoryBodyBytes: 60 * 1024,
  /** Users a story's audience names at most (the frame size may bind first). */
  maxStoryAudience: 1024,
  /** Users in one `story.list`. */
  maxStoryListUsers: 256,
  /** Participants of one call, the caller included (a group call rings up to maxCallSize − 1 users; signalling is mesh). */
  maxCallSize: 8,
  /** A call's `sdp` (offer or answer), in bytes (UTF-8). */
  maxSdpBytes: 16 * 1024,
  /** One ICE candidate, in bytes (UTF-8). */
  maxCandidateBytes: 1024,
} as const;
