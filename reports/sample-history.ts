/**
 * A deterministic, realistic-looking history for renderer tests and demos:
 * a few hundred devices on several paths over 60 s, a node killed at 20 s
 * (latency spike, some transport duplicates, two losses, 133 devices dropped
 * and all but two back within 4 s), a partition later.
 * Not a simulation: only plausible numbers shaped like a real run.
 */
import { DUP_TRANSPORT, Ledger, type Path } from './ledger.ts';
import { check, type CheckOptions } from './checker.ts';
import type { CallsReport, LatencySummary, Report } from './report.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WEIGHTS: [Path, number][] = [
  ['direct', 0.45],
  ['cross-node', 0.3],
  ['offline-drain', 0.08],
  ['push-wake', 0.05],
  ['group-write', 0.1],
  ['group-read', 0.02],
];

function pickPath(r: number): Path {
  let acc = 0;
  for (const [p, w] of WEIGHTS) if (r < (acc += w)) return p;
  return 'direct';
}

const BASE_MS: Record<Path, number> = {
  direct: 3,
  'cross-node': 6,
  'offline-drain': 900,
  'push-wake': 350,
  'group-write': 9,
  'group-read': 14,
  // The sample history has no media messages.
  media: 0,
};

export const SAMPLE_OPTIONS: CheckOptions = {
  startMs: 0,
  endMs: 60_000,
  graceMs: 5_000,
  lateMs: 1_000,
  scenario: 'sample-node-failure',
  world: 'embedded',
  seed: 7,
  nodes: 3,
  devicesPlanned: 400,
  startedAt: '2025-01-01T00:00:00.000Z',
  wallMs: 66_000,
  thresholds: {
    e2e_latency: ['p(99)<1500', 'p(50)<10'],
    lost: ['count==0'],
    duplicated_visible: ['count==0'],
    delivery_ratio: ['rate>0.999'],
  },
  extra: { driver: { cpuPercent: 41, eventLoopP99Ms: 3.2, bound: false } },
};

/** The ledger of the sample run; `messages` sends at ~`messages / 60` per second. */
export function sampleLedger(messages = 6000, seed = 7): Ledger {
  const rnd = lcg(seed);
  const l = new Ledger();
  const faultAt = 20_000;
  for (let msg = 0; msg < messages; msg++) {
    const intended = (msg / messages) * 58_000;
    const stall = intended >= faultAt && intended < faultAt + 2000 ? rnd() * 400 : 0;
    const sent = intended + 0.2 + stall;
    // The load fired on time (0.2 ms late); the stall is the cluster's (the sender waited for its node).
    l.send(msg, msg % 400, intended, sent, 0.2);
    l.ack(msg, sent + 1 + rnd() * 2);
    const path = pickPath(rnd());
    const fanout = path.startsWith('group') ? 3 : 1;
    for (let k = 0; k < fanout; k++) {
      const dev = (msg * 7 + k * 13 + 1) % 400;
      l.expect(msg, dev, path);
      const lost = stall > 0 && msg % 97 === 0 && k === 0;
      if (lost) continue;
      const at = sent + BASE_MS[path] * (0.6 + rnd() * 0.8) + (stall > 0 ? 300 * rnd() : 0);
      l.deliver(msg, dev, at, path);
      if (stall > 0 && rnd() < 0.05) l.deliver(msg, dev, at + 40, path, DUP_TRANSPORT);
      l.receipt(msg, dev, 'delivered', at + 2 + rnd() * 3);
      if (rnd() < 0.6) l.receipt(msg, dev, 'read', at + 500 + rnd() * 3000);
    }
  }
  sampleGauges(l, faultAt);
  sampleSessions(l, faultAt, seed);
  l.error(faultAt + 5, 'E_NODE_GONE', -1, false);
  for (let i = 0; i < 12; i++) l.error(faultAt + 10 + i, 'E_TIMEOUT', i, true);
  for (let i = 0; i < 10; i++) l.retrySucceeded(i);
  l.fault({ kind: 'kill', target: 'node-2', startMs: faultAt, endMs: faultAt + 2000 });
  l.fault({ kind: 'partition', target: 'node-1|redis', startMs: 40_000, endMs: 45_000 });
  return l;
}

function sampleGauges(l: Ledger, faultAt: number): void {
  for (let t = 0; t <= 60_000; t += 1000) {
    const ramp = Math.min(400, (t / 5000) * 400);
    const dip = t >= faultAt && t < faultAt + 4000 ? 130 : 0;
    l.sample(t, { connected: Math.round(ramp - dip) });
  }
}

/** Sign-ins over the 5 s ramp; the kill drops every 3rd device (133), all but two back within 4 s. */
function sampleSessions(l: Ledger, faultAt: number, seed: number): void {
  const rnd = lcg(seed + 1);
  for (let dev = 0; dev < 400; dev++) l.connected(dev, (dev / 400) * 5000);
  for (let dev = 1; dev < 400; dev += 3) {
    const down = faultAt + rnd() * 40;
    l.disconnected(dev, down, 1006);
    if (dev % 100 !== 1) l.connected(dev, down + 200 + rnd() * 3600);
  }
}

/** The sample run checked with SAMPLE_OPTIONS. */
export function sampleReport(): Report {
  return check(sampleLedger(), SAMPLE_OPTIONS);
}

/** A summary shaped like a real one: p90 and p99.9 between their neighbours, the mean near the median. */
function shaped(count: number, min: number, p50: number, p99: number, max: number): LatencySummary {
  return { count, min, mean: Math.round(p50 * 1.2 * 1000) / 1000, p50, p90: Math.round(((p50 + p99) / 2) * 1000) / 1000, p99, p999: Math.round(((p99 + max) / 2) * 1000) / 1000, max };
}

/**
 * A calls section as a calls run leaves it: 1,200 calls asked for, a fifth
 * of the connected ones relayed, two offers that rang late and one ring
 * that went on after its call was over. Not measured: plausible numbers.
 */
export function sampleCalls(): CallsReport {
  return {
    attempted: 1200, placed: 1196, answered: 900, rejected: 120, busy: 30, timedOut: 110, failed: 40, skipped: 0, unresolved: 0,
    failedBy: { media_lost: 21, offline: 12, unplaced: 4, disconnected: 3 },
    errors: { turn_refused: 2 },
    setup: {
      placeMs: shaped(1196, 1.2, 4.1, 18.5, 61),
      ringMs: shaped(1650, 2.5, 12.3, 95.2, 410),
      answerMs: shaped(900, 1500, 4200, 9800, 11_900),
      connectMs: shaped(880, 21, 85, 640, 1210),
    },
    connected: 880, relayed: 176, direct: 704, relayedShare: 0.2,
    relay: { allocationsPeak: 352, peakMbps: 95.37, bytes: 2_460_000_000 },
    media: {
      legs: 1760, packetsSent: 9_800_000, packetsReceived: 9_758_000, undeliveredPct: 0.4, lossPct: 0.43,
      relayedLegs: 352, relayedLossPct: 1.37, relayedJitterMs: shaped(352, 0.4, 2.8, 14.6, 30.2),
    },
    rings: 1650,
    violations: { lateRings: 2, phantomRings: 1, unjudged: 0 },
  };
}
