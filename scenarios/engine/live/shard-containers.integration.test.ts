import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTransferFile } from '../../../reports/ledger-file.ts';
import type { LedgerTransfer } from '../../../reports/ledger.ts';
import type { Report } from '../../../reports/report.ts';
import { ContainersWorld } from '../../../system/worlds/containers.ts';
import { provisionDocker } from '../../../system/worlds/containers-images.ts';
import { removeDriverContainer, runDriverContainer } from '../../../system/worlds/containers-driver.ts';
import { isLoopbackHost } from '../../../system/worlds/target.ts';
import type { ShardManifest } from './shard.ts';

const SHARDS = 3;

/**
 * The Kubernetes Indexed Job of the Helm chart, played with the docker CLI:
 * three containers of chatlab/driver:local, each told its shard only by
 * JOB_COMPLETION_INDEX and CHATLAB_SHARDS (as Kubernetes and the chart set
 * them), with one start time, the opt-in for a target beyond loopback and a
 * --target naming the node containers by name, each writing its shard to a
 * bind-mounted folder; then the merge in a fourth container, as the chart's
 * merge Job. Needs a Docker engine and the local images: `before` runs
 * scripts/provision-docker.sh (about 1 s when done; it builds the driver
 * image when the sources changed) and FAILS when it cannot.
 */
describe('Sharded driver containers (JOB_COMPLETION_INDEX 0..2) against the containers world, merged', function () {
  this.timeout(400_000);
  const dir = mkdtempSync(join(tmpdir(), 'chatlab-shard-containers-'));
  const results = join(dir, 'results');
  let world: ContainersWorld | undefined;
  const names: string[] = [];

  before(function () {
    this.timeout(900_000);
    provisionDocker('provision');
    mkdirSync(results);
    chmodSync(results, 0o777); // the driver image's user (uid 10001) writes here
  });

  after(async () => {
    for (const n of names) removeDriverContainer(n);
    await world?.stop();
  });

  it('three driver containers drive disjoint slices; the merge loses nothing and counts the union of their ledgers', async () => {
    const began = Date.now();
    world = await ContainersWorld.start({ nodes: 2, dir: join(dir, 'servers') });
    const readyMs = Date.now() - began;
    const { network, nodes } = world.driverEndpoints();
    // The nodes by their container names: not loopback as written, so the drivers need the opt-in.
    assert.ok(nodes.every((n) => !isLoopbackHost(n.name)), JSON.stringify(nodes));
    const target = nodes.map((n) => `ws://${n.name}:${n.port}/ws`).join(',');
    const hosts = nodes.map((n) => ({ name: n.name, address: n.address }));
    const mounts = [{ host: results, container: '/results' }];
    // One start for every shard, far enough ahead for three containers to start, connect and set up on 2 busy cores.
    const startAt = Date.now() + 35_000;
    const readyBeforeStart: number[] = [];
    const runs = await Promise.all(Array.from({ length: SHARDS }, (_, i) => {
      const name = `chatlab-${world!.runId}-driver-${i}`;
      names.push(name);
      return runDriverContainer({
        name, network, hosts, mounts, timeoutMs: 180_000,
        onLine: (l) => { if (/load starts/.test(l)) readyBeforeStart[i] = startAt - Date.now(); },
        env: {
          JOB_COMPLETION_INDEX: String(i), CHATLAB_SHARDS: String(SHARDS), CHATLAB_START_AT: String(startAt),
          CHATLAB_SECRET: world!.secret, CHATLAB_ALLOW_REMOTE_TARGET: '1',
        },
        args: [
          'run', 'steady-chat', '--target', target, '--out', `/results/shard-${i}`,
          '--devices', '60', '--duration', '3s', '--warmup', '0s', '--rate', '40', '--grace', '3s', '--workers', '1', '--seed', '5', '--no-e2ee', '--no-progress',
        ],
      });
    }));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, `driver container ${i} exited ${r.code}:\n${r.out}`);
      assert.match(r.out, new RegExp(`shard ${i}/${SHARDS} \\(load starts at ${new Date(startAt).toISOString()}\\)`));
      assert.match(r.out, /target beyond loopback .*allowed by CHATLAB_ALLOW_REMOTE_TARGET/);
    });
    const driversMs = Math.max(...runs.map((r) => r.wallMs));

    const mergeName = `chatlab-${world.runId}-merge`;
    names.push(mergeName);
    const merge = await runDriverContainer({ name: mergeName, network: 'none', mounts, args: ['report', 'merge', '/results', '--out', '/results/merged'], timeoutMs: 120_000 });
    const report = JSON.parse(readFileSync(join(results, 'merged', 'report.json'), 'utf8')) as Report;
    // The merge exits 0 when the merged run passes its thresholds (latency ones measure this busy machine): 1 otherwise, never anything else.
    assert.equal(merge.code, report.passed ? 0 : 1, merge.out);
    assert.doesNotMatch(merge.out, /deliveries of messages in no shard's sends/);

    const ledgers: LedgerTransfer[] = Array.from({ length: SHARDS }, (_, i) => readTransferFile(join(results, `shard-${i}`, 'ledger.bin')));
    const manifests = Array.from({ length: SHARDS }, (_, i) => JSON.parse(readFileSync(join(results, `shard-${i}`, 'shard.json'), 'utf8')) as ShardManifest);
    assert.deepEqual(manifests.map((m) => m.index), [0, 1, 2]);
    assert.equal(new Set(manifests.map((m) => m.t0)).size, 1);
    assert.equal(manifests[0]!.t0, startAt);
    const sends = ledgers.reduce((n, t) => n + t.sends.msg.length, 0);
    const perShard = ledgers.map((t) => t.sends.msg.length);
    assert.ok(perShard.every((n) => n > 0), `sends per shard ${perShard.join(', ')}`);
    assert.equal(new Set(ledgers.flatMap((t) => [...t.sends.msg])).size, sends, 'msgKeys are disjoint across shards');
    // With one worker per shard, a msgKey's shard is msgKey % 3: deliveries recorded on a shard other than the sender's.
    const cross = ledgers.reduce((n, t, shard) => n + [...t.deliveries.msg].filter((k) => k % SHARDS !== shard).length, 0);
    const meta = report.meta.shards as { count: number; orphanDeliveries: number };
    console.log(`      cluster ready in ${readyMs} ms (${JSON.stringify(world.timings)}); drivers ${driversMs} ms (${runs.map((r) => r.wallMs).join(', ')}; ready ${readyBeforeStart.join(', ')} ms before the start); merge ${merge.wallMs} ms`);
    console.log(`      merged: sent ${report.messages.sent} (shards ${perShard.join(' + ')}), expected ${report.delivery.expected}, delivered ${report.delivery.delivered}, lost ${report.delivery.lost}, cross-shard deliveries ${cross}, orphans ${meta.orphanDeliveries}, passed ${report.passed}`);

    assert.equal(meta.count, SHARDS);
    assert.equal(meta.orphanDeliveries, 0);
    assert.ok(sends > 60, `sends ${sends}`);
    assert.equal(report.messages.sent, sends);
    assert.equal(report.delivery.lost, 0, JSON.stringify(report.delivery.firstLost));
    assert.equal(report.delivery.delivered, report.delivery.expected);
    assert.equal(report.delivery.expected, ledgers.reduce((n, t) => n + t.expects.msg.length, 0));
    assert.ok(cross > 0, 'no delivery crossed shards');
    rmSync(dir, { recursive: true, force: true });
  });
});
