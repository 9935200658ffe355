/**
 * Error codes shared by the node core, the gateway and devices. A protocol
 * error frame carries the same `code`; `retryable` tells a device whether the
 * same request (same cid) may succeed later, and `definite` whether the
 * failed operation certainly had no effect.
 */
export const ErrorCodes = {
  bad_frame: { retryable: false, definite: true },
  too_large: { retryable: false, definite: true },
  unknown_type: { retryable: false, definite: true },
  unauthorized: { retryable: false, definite: true },
  token_expired: { retryable: false, definite: true },
  not_ready: { retryable: true, definite: true },
  rate_limited: { retryable: true, definite: true },
  overloaded: { retryable: true, definite: true },
  in_progress: { retryable: true, definite: false },
  unavailable: { retryable: true, definite: false },
  forbidden: { retryable: false, definite: true },
  not_found: { retryable: false, definite: true },
  conflict: { retryable: false, definite: true },
  /** An e2e send's `bodies` do not name exactly the devices it goes to: encrypt for `missing`, drop `stale`, resend. */
  devices_changed: { retryable: true, definite: true },
  /** A group e2e send's `members` is not the group's current version: refresh with `group.devices`, resend. */
  members_changed: { retryable: true, definite: true },
  /** A story whose time is over (its sid tells): it is no longer listed, viewed or counted. */
  story_expired: { retryable: false, definite: true },
  /** No such story alive, or one the asking user may not see (the two answer alike). */
  unknown_story: { retryable: false, definite: true },
  /** No such call, or one this user is not part of (the two answer alike). */
  unknown_call: { retryable: false, definite: true },
  /** The call (or this user's ring) is over: ended, timed out, declined, or answered on another device. */
  call_over: { retryable: false, definite: true },
  /** This user is already in a call (offering a new one, or answering another): hang it up first. */
  in_call: { retryable: false, definite: true },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class ChatError extends Error {
  readonly retryable: boolean;
  readonly definite: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ChatError';
    this.retryable = ErrorCodes[code].retryable;
    this.definite = ErrorCodes[code].definite;
  }
}

/**
 * A direct e2e send whose `bodies` do not match its target devices: the
 * device re-encrypts (for `missing`, dropping `stale`) and resends the same
 * cid at once, as nothing was stored.
 */
export class DevicesChangedError extends ChatError {
  constructor(readonly missing: string[], readonly stale: string[], readonly changed: string[] = []) {
    super('devices_changed', changed.length > 0
      ? `${changed.length} target devices have a new identity key: fetch their bundles again`
      : `bodies do not match the target devices (${missing.length} missing, ${stale.length} stale)`, 0);
    this.name = 'DevicesChangedError';
  }
}

/** A port (store, bus, registry) failed; whether the write took effect is unknown. */
export class PortError extends ChatError {
  constructor(readonly port: string, cause: unknown) {
    super('unavailable', `${port} unavailable: ${(cause as Error)?.message ?? String(cause)}`, 500, { cause });
    this.name = 'PortError';
  }
}

/**
 * Runs a store operation for `port`, turning any failure into a PortError
 * (outcome unknown); ChatErrors (domain errors, or already a PortError) pass
 * through. Shared by the Redis and Cassandra adapters.
 */
export async function guardPort<T>(port: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    if (error instanceof ChatError) throw error;
    throw new PortError(port, error);
  }
}

/** WebSocket close codes the gateway uses. */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  /** A fault of the node while handling a frame (not of the input): the device reconnects and retries. */
  internal: 1011,
  unauthorized: 4401,
  replaced: 4409,
  slowConsumer: 4408,
  idle: 4000,
  /** No hello with a valid token within the node's helloTimeoutMs. */
  helloTimeout: 4001,
  /** The user already has devicesPerUserMax devices connected. */
  tooManyDevices: 4429,
} as const;
