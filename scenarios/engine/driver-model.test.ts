import assert from 'node:assert/strict';
import type { Report } from '../../reports/report.ts';
import { driverModelOf } from './calibrate.ts';

const run = (workers: number, cpuMsPerFrame: number, gc?: { count: number; meanMs: number; maxMs: number; everyFrames: number }, e2ee?: { encryptUs: number; encrypts: number; decryptUs: number; decrypts: number }) => ({
  devices: { planned: 1000, connectedPeak: 1000 },
  driver: { cpuPercent: 30, eventLoopP99Ms: 2, bound: false, workers, frames: 100_000, cpuMsPerFrame, ...(gc ? { gcPauses: { ...gc, totalMs: gc.count * gc.meanMs, everyCpuMs: 1 } } : {}) },
  e2ee: e2ee ? { mode: 'real', encryptUs: { mean: e2ee.encryptUs, count: e2ee.encrypts }, decryptUs: { mean: e2ee.decryptUs, count: e2ee.decrypts } } : null,
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

  it('with a read\'s measured cost, takes the reads off the closed loop\'s cost a frame (one read for each frame read there) and charges them per socket and turn', () => {
    const m = driverModelOf(run(2, 0.1, { count: 40, meanMs: 3.5, maxMs: 9, everyFrames: 2500 }), run(1, 0.025), 'embedded', undefined, { ms: 0.006, share: 0.5 })!;
    assert.equal(m.frameMs, 0.022, '0.025 a frame, half of the frames read at 0.006 each');
    assert.equal(m.readMs, 0.006);
    assert.equal(m.wakeMs, 0.075, 'the wake-up as before: the light run and the closed loop read alike');
    assert.match(m.source!, /25\.0 µs of CPU a frame in the closed loop \(1 workers\) \(22\.0 of it the frame, a read 6\.0 for the 50% it reads\)/);
    const local = driverModelOf(run(2, 0.1, { count: 40, meanMs: 3.5, maxMs: 9, everyFrames: 2500 }), undefined, 'local', undefined, { ms: 0.006, share: 0.5 })!;
    assert.equal(local.readMs, undefined, 'no closed loop to take the reads apart from: none');
  });

  it('without a closed loop, the light run\'s cost a frame and no wake-up; without driver figures, no model', () => {
    const m = driverModelOf(run(2, 0.1, { count: 40, meanMs: 3.5, maxMs: 9, everyFrames: 2500 }), undefined, 'local')!;
    assert.equal(m.frameMs, 0.1);
    assert.equal(m.wakeMs, undefined);
    assert.equal(driverModelOf(run(2, 0.1), undefined, 'local'), undefined, 'no GC figures (an older report)');
  });

  it('takes the light run\'s crypto off its cost a frame (the sim charges it from its cost model), and the pauses from a run with crypto off when given', () => {
    // 100,000 frames; 10,000 encryptions of 100 µs and 20,000 decryptions of 250 µs: 6 s, 0.06 ms a frame.
    const light = run(2, 0.1, { count: 60, meanMs: 8.5, maxMs: 15, everyFrames: 2000 }, { encryptUs: 100, encrypts: 10_000, decryptUs: 250, decrypts: 20_000 });
    const plain = run(1, 0.03, { count: 30, meanMs: 4, maxMs: 6, everyFrames: 5000 });
    const m = driverModelOf(light, run(1, 0.025), 'embedded', plain)!;
    assert.equal(m.frameMs, 0.025);
    assert.equal(m.wakeMs, 0.015, '0.1 a frame, less 0.06 of crypto, less the frame\'s own 0.025');
    assert.equal(m.gcEveryFrames, 5000, 'the crypto-off run\'s collector, as the sim\'s loads of the cluster run');
    assert.equal(m.gcPauseMs, 4);
    assert.match(m.source!, /60\.0 of it the devices' crypto/);
    assert.match(m.source!, /crypto off/);
    const alone = driverModelOf(light, run(1, 0.025), 'embedded')!;
    assert.equal(alone.gcEveryFrames, 2000, 'no such run: the light run\'s own pauses');
  });
});
