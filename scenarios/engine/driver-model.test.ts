import assert from 'node:assert/strict';
import type { Report } from '../../reports/report.ts';
import { driverModelOf } from './calibrate.ts';

const run = (workers: number, cpuMsPerFrame: number, gc?: { count: number; meanMs: number; maxMs: number; everyFrames: number }) => ({
  devices: { planned: 1000, connectedPeak: 1000 },
  driver: { cpuPercent: 30, eventLoopP99Ms: 2, bound: false, workers, frames: 100_000, cpuMsPerFrame, ...(gc ? { gcPauses: { ...gc, totalMs: gc.count * gc.meanMs, everyCpuMs: 1 } } : {}) },
}) as unknown as Report;

describe('driverModelOf (the sim\'s driver loops from live runs)', () => {
  it('takes a frame\'s own cost from the busy closed loop, the wake-up from what the light run paid beyond it, and the light run\'s pauses', () => {
    const m = driverModelOf(run(2, 0.1, { count: 40, meanMs: 3.5, maxMs: 9, everyFrames: 2500 }), run(1, 0.025), 'embedded')!;
    assert.equal(m.frameMs, 0.025);
    assert.equal(m.wakeMs, 0.075);
    assert.equal(m.gcEveryFrames, 2500);
    assert.equal(m.gcPauseMs, 3.5);
    assert.match(m.source!, /25\.0 µs of CPU a frame in the closed loop \(1 workers\), 100\.0 at the light load \(2 workers\), 40 GC pauses of 3\.5 ms mean \(max 9\) every 2500 frames/);
  });

  it('without a closed loop, the light run\'s cost a frame and no wake-up; without driver figures, no model', () => {
    const m = driverModelOf(run(2, 0.1, { count: 40, meanMs: 3.5, maxMs: 9, everyFrames: 2500 }), undefined, 'local')!;
    assert.equal(m.frameMs, 0.1);
    assert.equal(m.wakeMs, undefined);
    assert.equal(driverModelOf(run(2, 0.1), undefined, 'local'), undefined, 'no GC figures (an older report)');
  });
});
