import assert from 'node:assert/strict';
import { DriverLoop } from './sim-driver.ts';
import { SimClock } from './sim-clock.ts';

const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;

describe('DriverLoop (the sim\'s model of a driver worker\'s event loop)', () => {
  const model = { frameMs: 0.1, gcEveryFrames: 1e9, gcPauseMs: 5 };

  it('is one server: frames admitted together finish one frameMs apart, in order', () => {
    const loop = new DriverLoop(new SimClock(0), model);
    const done = [loop.admit(), loop.admit(), loop.admit()];
    done.forEach((t, i) => assert.ok(near(t, (i + 1) * 0.1), `frame ${i} done at ${t}`));
    assert.equal(loop.frames, 3);
  });

  it('charges a collector pause to every gcEveryFrames-th frame, and everything behind it waits', () => {
    const loop = new DriverLoop(new SimClock(0), { ...model, gcEveryFrames: 3 });
    const done = [loop.admit(), loop.admit(), loop.admit(), loop.admit()];
    assert.ok(near(done[2]!, 5.3) && near(done[3]!, 5.4), done.join(' '));
    assert.equal(loop.pauses, 1);
  });

  it('charges wakeMs to a frame that finds the loop idle, not to one queued behind another', async () => {
    const clock = new SimClock(0);
    const loop = new DriverLoop(clock, { ...model, wakeMs: 0.5 });
    assert.ok(near(loop.admit(), 0.6), 'the first finds it idle');
    assert.ok(near(loop.admit(), 0.7), 'the second waits behind it: no wake-up');
    await clock.run(10);
    assert.ok(near(loop.admit(), 10.6), 'idle again');
  });

  it('takes the devices\' CPU spent elsewhere (modeled crypto) since the last admission, once, on whichever loop admits next', () => {
    const clock = new SimClock(0);
    const device = { spent: 0, spentMs: () => device.spent, taken: 0 };
    const a = new DriverLoop(clock, model, device);
    const b = new DriverLoop(clock, model, device);
    device.spent = 2;
    assert.ok(near(a.admit(), 2.1));
    assert.ok(near(b.admit(), 0.1), 'already taken: not charged twice');
    assert.equal(device.taken, 2);
  });
});
