import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';
import { ErrorCodes } from '../../../system/protocol/errors.ts';
import { replicationFactor } from '../../../system/worlds/infra/cassandra-ring.ts';
import { requireProvisioned } from '../../../system/worlds/infra/provisioning.ts';

// The cassandra-ring-node-failure drill in the local world: node processes
// over a real redis-server and a real 3-node Cassandra ring on 127.0.0.1-3,
// cassandra-2 killed (SIGKILL) mid-run and started again. Small and short
// (40 devices, 10 msg/s, 20 s of load) so it fits in ~2 minutes on a busy
// 2-core machine, ring start included.
describe('Cassandra ring in the local world (3 real Cassandra nodes)', function () {
  this.timeout(400_000);

  before(() => {
    // Fails (never skips) when the machine is not provisioned.
    requireProvisioned({ redis: true, cassandra: true });
  });

  it('cassandra-ring-node-failure: with one of three Cassandra nodes killed, sends keep being acked (RF 3, LOCAL_QUORUM) and nothing acked is lost', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-ring-'));
    let ring: { nodes: number; running: number; rf: number | undefined; consistency: (string | undefined)[]; rssMb: number[] } | undefined;
    const started = performance.now();
    const { report } = await runLive({
      scenario: 'cassandra-ring-node-failure', world: 'local', seed: 31, outDir, progress: false, log: () => {},
      overrides: { devices: 40, rate: 10, duration: '20s' },
      onLoadEnd: async (world) => {
        const local = world.local!;
        const r = local.cassandraRing!;
        ring = {
          nodes: r.nodes.length,
          running: r.nodes.filter((n) => n.running).length,
          rf: await replicationFactor(r.contactPoints, local.keyspace),
          consistency: local.nodes.map((n) => n.cassandraConsistency),
          rssMb: r.nodes.map((n) => rssMb(n.pid)),
        };
      },
    });
    const seconds = (performance.now() - started) / 1000;

    // The world ran a 3-node ring, the keyspace replicated to all three, every node at LOCAL_QUORUM.
    assert.ok(ring, 'the run reached its end');
    assert.equal(ring.nodes, 3, 'three Cassandra nodes started');
    assert.equal(ring.running, 3, 'the killed node is back and running');
    assert.equal(ring.rf, 3, 'keyspace replication factor');
    assert.deepEqual(ring.consistency, ['local_quorum', 'local_quorum', 'local_quorum'], 'the consistency each chat node reported');

    // The fault is in the report, and the world's watchdog did not take it for an unexpected failure.
    const scheduled = report.faults.filter((f) => !f.observed);
    assert.equal(scheduled.length, 1, JSON.stringify(report.faults));
    const f = scheduled[0]!;
    assert.equal(f.kind, 'cassandra-node-stop');
    assert.equal(f.target, 'cassandra-2 (SIGKILL)');
    assert.deepEqual(report.faults.filter((m) => m.observed), [], 'no observed fault: the kill was the drill\'s own');

    // Sends kept being acked while cassandra-2 was down (from the kill until it answered CQL again).
    const during = report.timeline.buckets.filter((b) => b.t * 1000 >= f.startMs && (b.t + 1) * 1000 <= f.endMs);
    const ackedDuring = during.reduce((n, b) => n + b.acked, 0);
    const sentDuring = during.reduce((n, b) => n + b.sent, 0);
    const p50During = f.impact?.latency.during.p50 ?? Infinity;
    console.log(`      ring drill: ${seconds.toFixed(0)} s in all; Cassandra RSS ${ring.rssMb.join(', ')} MB; cassandra-2 down ${((f.endMs - f.startMs) / 1000).toFixed(1)} s, ${ackedDuring} acked / ${sentDuring} sent in it (e2e p50 ${p50During} ms); acked ${report.messages.acked}, lost ${report.delivery.lost}, duplicated ${report.delivery.duplicated}; errors ${JSON.stringify(report.errors.byCode)}`);
    assert.ok(during.length >= 3, `the outage spans ${during.length} whole seconds of the timeline`);
    assert.ok(ackedDuring >= 0.8 * sentDuring && ackedDuring > 20, `acked ${ackedDuring} of ${sentDuring} sends during the outage`);
    // Acked promptly, not held until the node came back: two replicas of three make every quorum.
    assert.ok(p50During < 3000, `e2e p50 of messages sent during the outage ${p50During} ms`);

    // Any error seen was retryable, and the guarantee holds.
    for (const code of Object.keys(report.errors.byCode)) {
      const known = ErrorCodes[code as keyof typeof ErrorCodes];
      assert.ok(code === 'timeout' || known?.retryable, `error code ${code} is not retryable`);
    }
    assert.equal(report.delivery.lost, 0, `first lost: ${JSON.stringify(report.delivery.firstLost)}`);
    assert.equal(report.delivery.duplicated, 0, 'no user saw a message twice');
    assert.ok(report.messages.acked > 100, `acked ${report.messages.acked}`);
    assert.ok(report.passed, JSON.stringify(report.thresholds));
  });
});

/** Resident memory of a process, MB (Linux /proc). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}
