import type { Clock } from '../../../system/clock/clock.ts';
import type { CallMedia, TurnCredentials } from '../../../system/protocol/frames.ts';
import { DEFAULT_CODECS, type CallMediaPlane, type Codec, type LegFigures } from '../../device/call-media.ts';
import type { CallStats } from '../call-stats.ts';

/**
 * The relay and paths calls cross in the sim. A relay is one link of
 * `relayBps` shared by every relayed stream: while the streams offered
 * exceed it, each loses the excess share of its packets. A direct path
 * loses nothing. Jitter is a constant per kind of path (a model figure,
 * not a measurement: the report says the run was modeled).
 */
export interface SimCallModel {
  /** A TURN allocation's round trip (request, 401, authenticated request). */
  allocateMs: number;
  /** The relay's capacity, bits per second, both directions together. */
  relayBps: number;
  relayJitterMs: number;
  directJitterMs: number;
}

/**
 * Defaults: an allocation costs two round trips of a mobile network (~40
 * ms each); one relay server's 10 Gbit/s link at its planned 70%; jitter of
 * ~2 ms through a relay and ~1 ms direct (typical of a good network).
 */
export const DEFAULT_SIM_CALLS: SimCallModel = { allocateMs: 80, relayBps: 7e9, relayJitterMs: 2, directJitterMs: 1 };

interface SimLeg {
  relayed: boolean;
  started?: { at: number; codec: Codec; excessAt: number };
}

/**
 * Calls' media in virtual time: what a leg sends is its codec's packets
 * over its lifetime, what it receives is the peer's less the relay's
 * excess share while the relay was over capacity (exact: the excess is
 * integrated over time as streams start and stop). No packet is sent as
 * an event, so a call costs the sim a few events whatever its length.
 */
export class SimCalls implements CallMediaPlane {
  private readonly legs = new Map<string, SimLeg>();
  private endpoints = 0;
  /** Relayed bits per second offered now, and ∫ max(0, 1 − capacity/offered) dt up to `changedAt`. */
  private offeredBps = 0;
  private excess = 0;
  private changedAt = 0;

  constructor(
    private readonly clock: Pick<Clock, 'now' | 'setTimeout'>,
    private readonly stats: CallStats,
    readonly model: SimCallModel = DEFAULT_SIM_CALLS,
    private readonly codecs: Readonly<Record<CallMedia, Codec>> = DEFAULT_CODECS,
  ) {}

  open(device: string, call: string, relay: TurnCredentials | undefined, done: (endpoint: string | undefined, error?: string) => void): void {
    const key = `${device}|${call}`;
    const ep = `sim:${++this.endpoints}`;
    if (!relay) {
      this.legs.set(key, { relayed: false });
      return void queueMicrotask(() => done(ep));
    }
    if (relay.urls.length === 0) return void queueMicrotask(() => done(undefined, 'no_relay'));
    this.clock.setTimeout(() => {
      this.legs.set(key, { relayed: true });
      this.stats.allocation(this.clock.now(), true);
      done(ep);
    }, this.model.allocateMs);
  }

  start(device: string, call: string, _peer: string, media: CallMedia, _silenceMs: number, _silent: () => void): void {
    const leg = this.legs.get(`${device}|${call}`);
    if (!leg || leg.started) return;
    const codec = this.codecs[media];
    this.advance();
    leg.started = { at: this.clock.now(), codec, excessAt: this.excess };
    if (leg.relayed) this.offeredBps += codec.bitsPerSecond;
  }

  close(device: string, call: string): LegFigures | undefined {
    const key = `${device}|${call}`;
    const leg = this.legs.get(key);
    if (!leg) return undefined;
    this.legs.delete(key);
    const now = this.clock.now();
    if (leg.relayed) this.stats.allocation(now, false);
    const s = leg.started;
    if (!s) return { sent: 0, received: 0, lost: 0, jitterMs: 0, relayedBytes: 0 };
    this.advance();
    const ms = now - s.at;
    const sent = Math.floor(ms / s.codec.packetMs);
    // The peer's stream is this leg's twin (same codec, same life, same relay): its loss is the excess share over this life.
    const lossShare = leg.relayed && ms > 0 ? Math.min(1, (this.excess - s.excessAt) / ms) : 0;
    const lost = Math.round(sent * lossShare);
    if (leg.relayed) {
      this.offeredBps = Math.max(0, this.offeredBps - s.codec.bitsPerSecond);
      this.spread(s.at, now, s.codec.bitsPerSecond / 8);
    }
    const relayedBytes = leg.relayed ? Math.round((sent * s.codec.bitsPerSecond * s.codec.packetMs) / 8000) : 0;
    return { sent, received: sent - lost, lost, jitterMs: leg.relayed ? this.model.relayJitterMs : this.model.directJitterMs, relayedBytes };
  }

  /** Integrates the relay's excess share up to now. */
  private advance(): void {
    const now = this.clock.now();
    const over = this.offeredBps > this.model.relayBps ? 1 - this.model.relayBps / this.offeredBps : 0;
    this.excess += over * (now - this.changedAt);
    this.changedAt = now;
  }

  /** Relayed bytes of a stream of `bytesPerSec` from `from` to `to`, into the stats' wall seconds. */
  private spread(from: number, to: number, bytesPerSec: number): void {
    for (let s = Math.floor(from / 1000) * 1000; s < to; s += 1000) {
      const overlap = Math.min(to, s + 1000) - Math.max(from, s);
      if (overlap > 0) this.stats.relayed(s, (bytesPerSec * overlap) / 1000);
    }
  }
}
