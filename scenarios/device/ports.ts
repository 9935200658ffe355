import { CloseCodes } from '../../system/protocol/errors.ts';
import type { ClientFrame } from '../../system/protocol/frames.ts';

/**
 * The socket, as the engine owns it (a real WebSocket in a worker, or a
 * simulated link). At most one socket exists per device at a time.
 */
export interface DeviceIO {
  /** Opens a socket. The engine answers with `onOpen`, or `onClose(code)` if it fails (1006 when no code). */
  connect(): void;
  /** Writes one text frame; only called between `onOpen` and the socket's end. */
  send(text: string): void;
  /**
   * Optional: writes one frame as an object, for a simulated link that
   * carries objects instead of bytes (saves encoding and decoding). The
   * device does not touch the object afterwards. Without it, `send` is used.
   */
  sendFrame?(frame: ClientFrame): void;
  /** Closes the socket. The engine reports no further events for that socket, not even `onClose`. */
  close(): void;
}

/**
 * The ledger's hooks. Times are the device's clock; msgKey is the engine's
 * integer for a message. Called synchronously, in the order things happened.
 */
export interface DeviceObserver {
  /**
   * First transmission of a message (once per message; a message never sent
   * has none). `firedMs`: when the load handed it to the device — the
   * scheduler's lateness is firedMs − intendedMs; a later sentMs is the
   * device waiting (offline, or its in-flight window full).
   */
  onSend(msgKey: number, intendedMs: number, sentMs: number, firedMs: number): void;
  /** The "sent" tick, at most once per message. */
  onAck(msgKey: number, ackMs: number, mid: string, seq: number, conv: string): void;
  /** A message shown to the user, or (flag DUP_TRANSPORT) a duplicate dropped. Flags: see DeliverFlags. */
  onDeliver(msgKey: number | undefined, mid: string, conv: string, seq: number, atMs: number, flags: number,
    fromDevice: string, drained: boolean, pushWoken: boolean): void;
  /** A delivered/read receipt about this user's messages (each receipt id once). */
  onReceipt(kind: 'delivered' | 'read', mid: string | undefined, byDevice: string, atMs: number, conv: string, upTo: number | undefined): void;
  /** A failure. With a msgKey: that send; `willRetry` false means the send is over (failed). */
  onError(code: string, msgKey: number | undefined, atMs: number, willRetry: boolean): void;
  /** Authenticated (`welcome`) on `node`. */
  onConnected(atMs: number, node: string): void;
  /** A socket that was opening or open ended, whoever ended it. */
  onDisconnected(atMs: number, code: number): void;
}

export type DeviceState = 'idle' | 'connecting' | 'authenticating' | 'online' | 'backoff' | 'offline' | 'stopped';

/** Close codes the device reports for sockets it ends itself. */
export const DeviceCloseCodes = { client: CloseCodes.normal, drop: 1006, connectTimeout: 4002 } as const;
