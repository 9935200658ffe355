import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '../../../system/bus/envelope.ts';
import type { Report } from '../../../reports/report.ts';
import { drillFile } from '../../drills/drill-file.ts';
import { runLive } from './live.ts';

const quiet = { progress: false, log: () => {} };
const small = { devices: 60, duration: '3s', rate: 60 };

describe('Live engine against the embedded world', function () {
  this.timeout(240_000);

  it('runs steady-chat end to end and writes a report with zero losses', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-live-'));
    const { report, files } = await runLive({ scenario: 'steady-chat', world: 'embedded', overrides: small, seed: 3, outDir, ...quiet });
    assert.equal(report.world, 'embedded');
    assert.equal(report.scenario, 'steady-chat');
    assert.equal(report.devices.planned, 60);
    assert.ok(report.messages.acked > 100, `acked ${report.messages.acked}`);
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.delivery.duplicated, 0);
    assert.equal(report.delivery.delivered, report.delivery.expected);
    assert.ok(report.latency.e2eMs.count > 0 && report.latency.e2eMs.p99 > 0);
    assert.ok(report.paths['cross-node'].delivered > 0 && report.paths['group-write'].delivered > 0);
    assert.equal(report.passed, true);
    for (const f of [files.json, files.html, files.md]) assert.ok(existsSync(f));
    assert.equal(JSON.parse(readFileSync(files.json, 'utf8')).delivery.lost, 0);
  });

  it('reports exactly one lost message, on its path, when one delivery is dropped', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-live-'));
    let dropped: string | undefined;
    const { report } = await runLive({
      scenario: 'steady-chat', world: 'embedded', overrides: { ...small, devices: 40 }, seed: 4, outDir, ...quiet,
      onLoadStart: (world) => {
        // Test-only fault: lose the first cross-node message delivery on the bus and remove its inbox entry,
        // so the recipient never gets it (neither live nor on a later drain).
        const { bus, inbox } = world.embedded!.ports;
        bus.setFilter((_node, env: Envelope) => {
          if (dropped || env.k !== 'deliver' || env.item.kind !== 'msg' || env.item.conv?.startsWith('g:')) return true;
          dropped = env.item.id;
          for (const d of env.devices) void inbox.ack(d, [env.item.id]);
          return false;
        });
      },
    });
    assert.ok(dropped, 'the hook dropped a delivery');
    assert.equal(report.delivery.lost, 1);
    assert.equal(report.paths['cross-node'].lost, 1);
    assert.equal(report.passed, false, 'the lost==0 threshold fails');
    assert.equal(report.thresholds.find((t) => t.metric === 'lost')?.passed, false);
  });

  it('rejects an unknown scenario and a bad executor before starting anything', async () => {
    await assert.rejects(runLive({ scenario: 'nope', world: 'embedded', overrides: {}, seed: 1, outDir: tmpdir(), ...quiet }), /unknown scenario "nope"/);
    await assert.rejects(runLive({ scenario: 'steady-chat', world: 'moon', overrides: small, seed: 1, outDir: tmpdir(), ...quiet }), /unknown world "moon"/);
  });

  it('ends the run, naming the worker, when a driver worker stops reporting (SIGSTOP from outside)', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-live-'));
    let stopped: number | undefined;
    const started = Date.now();
    const run = runLive({
      scenario: 'steady-chat', world: 'embedded', overrides: { ...small, duration: '20s' }, seed: 5, outDir, ...quiet, driverStallMs: 3000,
      onLoadStart: () => {
        stopped = driverWorkerPids()[0];
        if (stopped !== undefined) process.kill(stopped, 'SIGSTOP');
      },
    });
    try {
      await assert.rejects(run, (err: Error) => {
        assert.match(err.message, new RegExp(`driver worker \\d \\(pid ${stopped}\\) has said nothing for \\d+ s`));
        return true;
      });
      assert.ok(stopped !== undefined, 'a driver worker was found and stopped');
      assert.ok(Date.now() - started < 20_000, `the run ended ${Date.now() - started} ms after it started, before its 20 s load was over`);
    } finally {
      if (stopped !== undefined) {
        try {
          process.kill(stopped, 'SIGCONT');
        } catch {
          // already ended by the run's cleanup
        }
      }
    }
  });

  it('kills a node mid-run (node-failure drill) and loses nothing acked', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-live-'));
    const { report } = await runLive({ scenario: 'node-failure', world: 'embedded', overrides: { devices: 90, duration: '6s', rate: 60 }, seed: 5, outDir, ...quiet });
    assert.equal(report.faults.length, 1);
    assert.equal(report.faults[0]!.kind, 'node-kill');
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.delivery.duplicated, 0);
    assert.ok(report.paths['offline-drain'].delivered + report.paths['cross-node'].delivered > 0);
    assert.equal(report.passed, true);
  });

  /** Every fault made devices reconnect, all of them came back, and nothing acked was lost or shown twice. */
  function reconnectedWithoutLoss(report: Report): void {
    for (const f of report.faults) {
      const r = f.impact!.reconnects;
      assert.ok(r.devices > 0, `${f.kind} ${f.target}: no device reconnected`);
      assert.equal(r.notBack, 0, `${f.kind} ${f.target}: ${r.notBack} devices did not come back`);
      assert.ok(r.maxMs !== null && r.maxMs < 15_000, `${f.kind} ${f.target}: slowest reconnect ${r.maxMs} ms`);
    }
    assert.equal(report.delivery.lost, 0, `first lost: ${JSON.stringify(report.delivery.firstLost)}`);
    assert.equal(report.delivery.duplicated, 0);
    assert.equal(report.passed, true);
  }

  it('drains and restarts node-2 (node-stop): its devices reconnect elsewhere and nothing is lost', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-live-'));
    const scenario = drillFile('node-stop-test', [{ fault: 'node-stop', target: 'node-2', at: '30%', duration: '30%' }]);
    const { report } = await runLive({ scenario, world: 'embedded', overrides: { devices: 90, duration: '6s', rate: 60 }, seed: 6, outDir, ...quiet });
    assert.deepEqual(report.faults.map((f) => [f.kind, f.target]), [['node-stop', 'node-2']]);
    reconnectedWithoutLoss(report);
  });

  it('restarts every node one after another (rolling-restart drill): each one sends its devices elsewhere, nothing is lost', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-live-'));
    const { report } = await runLive({ scenario: 'rolling-restart', world: 'embedded', overrides: { devices: 90, duration: '8s', rate: 60 }, seed: 7, outDir, ...quiet });
    assert.deepEqual(report.faults.map((f) => [f.kind, f.target]), [['rolling-restart', 'node-1'], ['rolling-restart', 'node-2'], ['rolling-restart', 'node-3']]);
    reconnectedWithoutLoss(report);
  });
});

/** This process's driver workers (children running live/worker.ts), by PID. */
function driverWorkerPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      return ppid === process.pid && cmd.includes('live/worker.ts') ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}
