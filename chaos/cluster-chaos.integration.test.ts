import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../reports/report.ts';
import type { ClusterState } from './cluster.ts';

interface Child {
  proc: ChildProcess;
  out: string;
  err: string;
  exit: Promise<number | null>;
}

function chatlab(...args: string[]): Child {
  const proc = spawn(process.execPath, ['bin/chatlab.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Child = { proc, out: '', err: '', exit: new Promise((r) => proc.on('exit', (code) => r(code))) };
  proc.stdout!.on('data', (d: Buffer) => (c.out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (c.err += d.toString()));
  return c;
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Chaos against a running cluster', function () {
  this.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'chatlab-up-'));
  const stateFile = join(dir, 'cluster.json');
  const children: Child[] = [];
  let cluster: Child;

  before(async () => {
    cluster = chatlab('up', '--world', 'embedded', '--nodes', '3', '--state', stateFile);
    children.push(cluster);
    await until(`the state file (up: ${cluster.err})`, () => existsSync(stateFile) || cluster.proc.exitCode !== null, 30_000);
    assert.ok(existsSync(stateFile), cluster.err);
  });

  after(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    // The wrapper forwards signals, but a SIGKILLed one cannot: stop the CLI process of `up` by the pid it wrote.
    if (existsSync(stateFile)) {
      const { pid } = JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterState;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  it('puts a node kill injected from another terminal into the report of the run, with no message lost', async () => {
    const outDir = join(dir, 'run');
    const run = chatlab('run', 'steady-chat', '--cluster', stateFile, '--devices', '60', '--duration', '8s', '--out', outDir, '--no-progress');
    children.push(run);
    await until(`the load to start (run: ${run.err})`, () => /load starts/.test(run.err) || run.proc.exitCode !== null, 40_000);
    await new Promise((r) => setTimeout(r, 2000));
    const chaos = chatlab('chaos', 'node-kill', '--target', 'node-2', '--duration', '3s', '--cluster', stateFile);
    children.push(chaos);
    assert.equal(await chaos.exit, 0, chaos.err);
    assert.match(chaos.out, /^node-kill node-2 from \S+ to \S+ \(3\.\d+s\)$/m);
    const code = await run.exit;
    const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as Report;
    // A 3 s node kill inside an 8 s load may push e2e/ack p99 past steady-chat's 500 ms on 2 shared cores:
    // the run's verdict may then fail on latency, and on nothing else (exit 1 exactly when it failed).
    const failedOther = report.thresholds.filter((t) => !t.passed && !/_latency$/.test(t.metric));
    assert.deepEqual(failedOther, [], `${run.out}\n${run.err}`);
    assert.equal(code, report.passed ? 0 : 1, `${run.out}\n${run.err}`);
    const kill = report.faults.find((f) => f.kind === 'node-kill' && f.target === 'node-2');
    assert.ok(kill, `a node-kill/node-2 fault in ${JSON.stringify(report.faults)}`);
    assert.ok(kill.startMs > 0 && kill.startMs < report.durationMs, `starts inside the load (${kill.startMs} of ${report.durationMs} ms)`);
    assert.ok(kill.endMs - kill.startMs >= 2900 && kill.endMs - kill.startMs < 4500, `lasts its 3 s (${kill.endMs - kill.startMs} ms)`);
    assert.ok((kill.impact?.sent ?? 0) > 0, 'messages were sent during it');
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.messages.failed, 0);
  });

  it('stops everything and removes its state file on SIGTERM', async () => {
    const { nodes } = JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterState;
    cluster.proc.kill('SIGTERM');
    assert.equal(await cluster.exit, 0, cluster.err);
    assert.equal(existsSync(stateFile), false);
    const port = new URL(nodes[0]!.url).port;
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`), 'node-1 no longer listens');
  });
});
