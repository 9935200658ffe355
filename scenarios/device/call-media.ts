import type { CallMedia, TurnCredentials } from '../../system/protocol/frames.ts';

/**
 * A codec's packet stream: `bitsPerSecond` of payload in packets every
 * `packetMs` (audio ~20–40 kbit/s in 20 ms packets, video ~0.3–1.5 Mbit/s).
 */
export interface Codec {
  bitsPerSecond: number;
  packetMs: number;
}

/** Default codecs (Opus voice; a VP8/H.264 mobile video call), overridable per scenario (`behaviour.calls.codecs`). */
export const DEFAULT_CODECS: Readonly<Record<CallMedia, Codec>> = {
  audio: { bitsPerSecond: 32_000, packetMs: 20 },
  video: { bitsPerSecond: 800_000, packetMs: 10 },
};

/** Payload bytes of one packet of `codec` (at least the 16-byte header every media packet carries). */
export function packetBytes(codec: Codec): number {
  return Math.max(16, Math.round((codec.bitsPerSecond * codec.packetMs) / 8000));
}

/** What one leg of a call measured of the packets it received. */
export interface LegFigures {
  /** Packets this leg sent to its peer. */
  sent: number;
  /** Packets from the peer that arrived. */
  received: number;
  /** Packets the peer's sequence numbers say were sent but never arrived (gaps, and the tail up to the peer's last sent). */
  lost: number;
  /** RFC 3550 interarrival jitter at the end of the call, ms. */
  jitterMs: number;
  /** Payload bytes this leg sent into a relay (its own stream; the peer's leg counts the other direction): 0 for a direct leg. */
  relayedBytes: number;
}

/**
 * The media plane a host gives its devices for calls: one endpoint per call
 * leg (a device's side of a call), opened before the device offers or
 * answers, so its address can go in the signalling. A leg is relayed (a
 * TURN allocation with the credentials the node minted) or direct (a
 * socket of its own). The plane sends the codec's packets to the peer from
 * `start` until `close`, and counts what arrives.
 *
 * Implemented by the live engine (real UDP on loopback; TURN through a
 * real coturn, or a minimal in-process relay in the embedded world) and by
 * the sim (modelled links with capacity).
 */
export interface CallMediaPlane {
  /**
   * Opens `device`'s endpoint for `call`. `done` gets the address the peer
   * sends to (`host:port`: the relayed address for a relayed leg), or an
   * error code (`turn_refused`, `turn_unreachable`, `no_relay`, …).
   */
  open(device: string, call: string, relay: TurnCredentials | undefined, done: (endpoint: string | undefined, error?: string) => void): void;
  /**
   * Starts sending `media`'s packets to `peer` (the other leg's endpoint).
   * `silent` is called once when nothing arrived from the peer for
   * `silenceMs` after media had flowed (or since start): the relay or the
   * path died.
   */
  start(device: string, call: string, peer: string, media: CallMedia, silenceMs: number, silent: () => void): void;
  /** Stops the leg and frees its endpoint; the figures of what it sent and received (undefined when it never opened). */
  close(device: string, call: string): LegFigures | undefined;
}
