import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { MainMessage, WorkerMessage } from '../config.ts';
import { summarizeDriver, WorkerPool } from './worker-pool.ts';

/** A stand-in worker process: records what the pool sends it; `reply` answers as a worker would. */
class FakeWorker extends EventEmitter {
  readonly got: MainMessage['type'][] = [];
  pid = undefined;
  constructor(private readonly onSend: (w: FakeWorker, m: MainMessage) => void) {
    super();
  }
  send(m: MainMessage): boolean {
    this.got.push(m.type);
    this.onSend(this, m);
    return true;
  }
  reply(m: WorkerMessage): void {
    this.emit('message', m);
  }
}

describe('WorkerPool start', () => {
  it('sends go only once every worker has taken t0, so no worker stamps a delivery before it knows the run clock', async () => {
    const log: string[] = [];
    const workers: FakeWorker[] = [];
    // Worker 1 is slow to read its messages (a busy event loop): it takes t0 200 ms after it was sent.
    const spawn = (w: number) => {
      const f = new FakeWorker((self, m) => {
        log.push(`${m.type} → ${w}`);
        if (m.type === 'start') setTimeout(() => {
          log.push(`armed ${w}`);
          self.reply({ type: 'armed' });
        }, w === 1 ? 200 : 1);
      });
      workers.push(f);
      return f as unknown as ChildProcess;
    };
    const pool = new WorkerPool(3, [], undefined, 30_000, spawn);
    const t0 = Date.now() + 300;
    await pool.start(t0);
    pool.close();
    const firstGo = log.findIndex((l) => l.startsWith('go'));
    const lastArmed = log.map((l) => l.startsWith('armed')).lastIndexOf(true);
    assert.ok(firstGo > lastArmed, `go after every armed: ${log.join(', ')}`);
    for (const w of workers) assert.deepEqual(w.got, ['start', 'go']);
  });

  it('fails the start, naming the worker, when one never takes t0', async () => {
    const spawn = (w: number) => new FakeWorker((self, m) => {
      if (m.type === 'start' && w === 0) self.reply({ type: 'armed' });
      if (m.type === 'start' && w === 1) setTimeout(() => self.emit('exit', 1), 20);
    }) as unknown as ChildProcess;
    const pool = new WorkerPool(2, [], undefined, 30_000, spawn);
    await assert.rejects(pool.start(Date.now() + 300), /driver worker 1 exited with code 1/);
    pool.close();
  });
});

describe('summarizeDriver', () => {
  const part = (cpuMs: number, frames: number, gc: { count: number; totalMs: number; maxMs: number }) =>
    ({ cpuPercent: 20, eventLoopP99Ms: 1, droppedIterations: 0, cpuMs, frames, gc });

  it('sums the workers\' frames, CPU and collector pauses: CPU a frame, mean and longest pause, CPU between two pauses', () => {
    const d = summarizeDriver([part(300, 6000, { count: 2, totalMs: 6, maxMs: 4 }), part(100, 4000, { count: 2, totalMs: 2, maxMs: 1 })]);
    assert.equal(d.frames, 10_000);
    assert.equal(d.cpuMsPerFrame, 0.04);
    assert.deepEqual(d.gcPauses, { count: 4, totalMs: 8, meanMs: 2, maxMs: 4, everyCpuMs: 100, everyFrames: 2500 });
  });

  it('has no per-frame figures when the workers read and wrote nothing (a sim cell\'s stand-in)', () => {
    const d = summarizeDriver([part(0, 0, { count: 0, totalMs: 0, maxMs: 0 })]);
    assert.equal(d.cpuMsPerFrame, undefined);
    assert.equal(d.gcPauses, undefined);
  });
});
