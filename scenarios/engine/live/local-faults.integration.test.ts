import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';
import type { Report } from '../../../reports/report.ts';
import { ErrorCodes } from '../../../system/protocol/errors.ts';
import { sharedCassandra } from '../../../system/testing/shared-cassandra.ts';
import { requireProvisioned } from '../../../system/worlds/infra/provisioning.ts';
import { drillFile } from '../../drills/drill-file.ts';

// Dependency and network faults in the local world (node processes over a
// real redis-server and Cassandra, Toxiproxy between them), each in a short
// run: 40 devices, 15 msg/s, a few seconds of load, a generous grace. What is
// asserted is what an engineer would predict, read from the report.
const quiet = { progress: false, log: () => {} };
const small = { devices: 40, rate: 15, graceMs: 60_000 };

async function run(scenario: string, seed: number, duration: string, own: { cassandra?: boolean; rate?: number } = {}): Promise<Report> {
  const cassandra = own.cassandra ? undefined : (await sharedCassandra()).contactPoint;
  const outDir = mkdtempSync(join(tmpdir(), 'chatlab-chaos-'));
  const overrides = { ...small, duration, ...(own.rate ? { rate: own.rate } : {}) };
  const { report } = await runLive({ scenario, world: 'local', cassandra, seed, outDir, ...quiet, overrides });
  return report;
}

function noLoss(report: Report, minAcked = 60): void {
  assert.equal(report.delivery.lost, 0, `first lost: ${JSON.stringify(report.delivery.firstLost)}`);
  assert.equal(report.delivery.duplicated, 0, 'no user saw a message twice');
  assert.ok(report.messages.acked > minAcked, `acked ${report.messages.acked}`);
}

/** Every error the devices saw carries a retryable code: rejected for later, never refused for good. */
function onlyRetryable(report: Report): void {
  for (const code of Object.keys(report.errors.byCode)) {
    const known = ErrorCodes[code as keyof typeof ErrorCodes];
    assert.ok(code === 'timeout' || known?.retryable, `error code ${code} is not retryable`);
  }
}

/** Median of the timeline's per-second e2e p50 over buckets that start in [fromMs, toMs). */
function p50Between(report: Report, fromMs: number, toMs: number): number {
  const values = report.timeline.buckets
    .filter((b) => b.t * 1000 >= fromMs && b.t * 1000 < toMs && b.p50 !== null)
    .map((b) => b.p50!)
    .sort((a, b) => a - b);
  assert.ok(values.length > 0, `no deliveries between ${fromMs} and ${toMs} ms`);
  return values[Math.floor(values.length / 2)]!;
}

describe('Chaos in the local world (real Redis, Cassandra, Toxiproxy)', function () {
  this.timeout(400_000);

  before(() => {
    // Fails (never skips) when the machine is not provisioned.
    requireProvisioned({ redis: true, cassandra: true, toxiproxy: true });
  });

  it('redis-stop: sends during the outage are rejected with a retryable error, and nothing acked is lost', async () => {
    const report = await run('redis-outage', 21, '10s');
    assert.equal(report.faults.length, 1);
    const f = report.faults[0]!;
    assert.equal(f.kind, 'redis-stop');
    assert.ok(f.endMs - f.startMs >= 4500, `Redis away ${f.endMs - f.startMs} ms`);
    const unavailable = report.errors.byCode.unavailable;
    assert.ok(unavailable && unavailable.count > 0, 'the outage was felt as unavailable errors');
    onlyRetryable(report);
    noLoss(report);
    assert.ok(report.passed, JSON.stringify(report.thresholds));
  });

  it('cassandra-stop: writes during the outage are rejected (retryable), the restarted node serves again, nothing acked is lost', async () => {
    // Its restart takes 12 s on an idle machine and up to ~50 s on a busy one; sends still being retried
    // (and the grace period's retries) see it serve again.
    const file = drillFile('cassandra-stop-test', [{ fault: 'cassandra-stop', at: '1s', duration: '2s' }]);
    const report = await run(file, 22, '45s', { cassandra: true, rate: 6 });
    const f = report.faults[0]!;
    assert.equal(f.kind, 'cassandra-stop');
    // The 2 s wait plus a restart (JVM start, commit-log replay: 5 s on a fast idle machine, ~50 s on a busy one).
    assert.ok(f.endMs - f.startMs >= 4000, `Cassandra away ${f.endMs - f.startMs} ms (stop, wait, restart)`);
    assert.ok((report.errors.byCode.unavailable?.count ?? 0) > 0, 'writes failed as unavailable');
    onlyRetryable(report);
    noLoss(report, 20);
    const after = report.timeline.buckets.filter((b) => b.t * 1000 >= f.endMs);
    assert.ok(after.reduce((n, b) => n + b.acked, 0) > 0, `no send acked after Cassandra came back at ${Math.round(f.endMs)} ms`);
  });

  it('latency: 200 ms on every Cassandra round trip raises ack and delivery latency in the window only', async () => {
    const report = await run('cassandra-slow', 23, '12s');
    const f = report.faults[0]!;
    assert.equal(f.kind, 'latency');
    assert.match(f.target, /cassandra \+200ms/);
    const before = p50Between(report, 0, f.startMs);
    const during = p50Between(report, f.startMs + 1000, f.endMs);
    assert.ok(during >= before + 150, `e2e p50 ${before} ms before, ${during} ms during`);
    // 60% of the sends fall in the window, and each ack waits for at least one Cassandra write.
    assert.ok(report.latency.ackMs.p50 >= 200, `ack p50 ${report.latency.ackMs.p50} ms`);
    noLoss(report);
  });

  it('partition: node-2 cut off from Redis rejects its sends (retryable) and loses nothing once healed', async () => {
    const report = await run('partition', 24, '12s');
    const f = report.faults[0]!;
    assert.equal(f.kind, 'partition');
    assert.equal(f.target, 'node-2|redis');
    assert.ok((report.errors.byCode.unavailable?.count ?? 0) > 0, "node-2's sends were rejected");
    onlyRetryable(report);
    noLoss(report);
  });

  it('node-pause: a SIGSTOPped node stalls what goes through it until SIGCONT, then delivers everything', async () => {
    // Late in the run, so the window before it is past the warm-up of a fresh world.
    const report = await run(drillFile('node-pause-test', [{ fault: 'node-pause', target: 'node-2', at: '50%', duration: '3s' }]), 26, '12s');
    const f = report.faults[0]!;
    assert.equal(f.kind, 'node-pause');
    assert.equal(f.target, 'node-2');
    assert.ok(f.endMs - f.startMs >= 3000, `paused ${f.endMs - f.startMs} ms`);
    const { before, during } = f.impact!.latency;
    assert.ok(during.p99! >= before.p99! + 1000, `e2e p99 ${before.p99} ms before, ${during.p99} ms during`);
    noLoss(report);
  });

  it('reset, timeout, slicer and bandwidth: each applied and marked; blackholed writes stall; nothing acked is lost', async () => {
    const file = drillFile('network-mix-test', [
      { fault: 'reset', target: 'redis', at: '10%', duration: '10%' },
      { fault: 'timeout', target: 'node-1:cassandra', at: '30%', duration: '20%' },
      { fault: 'slicer', target: 'devices', averageBytes: 16, delayUs: 200, at: '60%', duration: '15%' },
      { fault: 'bandwidth', target: 'node-3:cassandra', kbPerSecond: 4, at: '80%', duration: '15%' },
    ]);
    const report = await run(file, 25, '14s');
    const kinds = report.faults.map((f) => `${f.kind} ${f.target}`).sort();
    assert.deepEqual(kinds.map((k) => k.split(' ').slice(0, 2).join(' ')), ['bandwidth node-3:cassandra', 'reset redis', 'slicer devices', 'timeout node-1:cassandra']);
    assert.ok((report.errors.byCode.unavailable?.count ?? 0) > 0, 'reset Redis connections fail commands');
    const blackhole = report.faults.find((f) => f.kind === 'timeout')!;
    assert.ok((blackhole.impact?.p99Ms ?? 0) >= 1000, `p99 of messages sent in the blackhole: ${blackhole.impact?.p99Ms} ms`);
    onlyRetryable(report);
    noLoss(report);
  });
});
