import assert from 'node:assert/strict';
import { DeviceCpu, DriverLoop, nodeTimers } from './sim-driver.ts';
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

  it("with readMs, reads a device's socket once a turn: what one socket brings together shares a read; frames written pay none", () => {
    const loop = new DriverLoop(new SimClock(0), { ...model, readMs: 0.05 });
    const dev = { readTurn: NaN };
    const other = { readTurn: NaN };
    assert.ok(near(loop.admit(dev), 0.15), 'a delivery: the read and the frame');
    assert.ok(near(loop.admit(dev), 0.25), 'another of the same socket, same turn: the frame alone');
    assert.ok(near(loop.admit(other), 0.4), "another device's socket: its own read");
    assert.ok(near(loop.admit(), 0.5), 'a frame written: no read');
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

  it('runs in turns, as a Node event loop: a frame arriving while a turn runs waits for the next, which pays the wake-up again and takes what arrived before it began', async () => {
    const clock = new SimClock(0);
    const loop = new DriverLoop(clock, { ...model, wakeMs: 0.5 });
    assert.ok(near(loop.admit(), 0.6), 'idle: a turn of its own');
    await clock.run(0.2);
    assert.ok(near(loop.admit(), 1.2), 'arrived during that turn: the next one, from 0.6, with its wake-up');
    await clock.run(0.3);
    assert.ok(near(loop.admit(), 1.3), 'arrived before the next turn began: joins it free');
  });

  it('takes the devices\' CPU spent elsewhere (modeled crypto) since the last admission, once, on whichever loop admits next', () => {
    const clock = new SimClock(0);
    let spent = 0;
    const device = new DeviceCpu(() => spent);
    const a = new DriverLoop(clock, model, device);
    const b = new DriverLoop(clock, model, device);
    spent = 2;
    assert.ok(near(a.admit(), 2.1));
    assert.ok(near(b.admit(), 0.1), 'already taken: not charged twice');
    assert.equal(device.taken, 2);
  });

  it('charges what a frame\'s handler spends to its own loop, and the device\'s clock moves with it meanwhile (a delivery stamped after its decryption)', async () => {
    const clock = new SimClock(0);
    let spent = 0;
    const device = new DeviceCpu(() => spent);
    const deviceClock = device.clock(clock);
    const a = new DriverLoop(clock, model, device);
    const b = new DriverLoop(clock, model, device);
    const done = a.admit();
    assert.ok(near(done, 0.1));
    await clock.run(done);
    let stampedAt = -1;
    a.read(() => {
      assert.ok(near(deviceClock.now(), 0.1), 'nothing spent yet');
      spent += 0.4; // the decryption
      stampedAt = deviceClock.now();
    }, undefined, undefined);
    assert.ok(near(stampedAt, 0.5), `stamped after its decryption: ${stampedAt}`);
    assert.ok(near(deviceClock.now(), 0.1), 'outside a handler the device reads the sim\'s clock');
    assert.ok(near(a.admit(), 0.6), 'the next frame on that loop waits for the decryption');
    assert.ok(near(b.admit(), 0.2), 'the other loop does not pay it');
    assert.ok(near(a.busyMs, 0.6));
  });

  it('gives a device the worker\'s timers: what it arms fires on the loop\'s whole ms, as a live device\'s Node timers do', async () => {
    const clock = new SimClock(0);
    const deviceClock = new DeviceCpu(() => 0).clock(clock, nodeTimers(clock));
    const fired: number[] = [];
    await clock.run(3.4);
    deviceClock.setTimeout(() => fired.push(clock.now()), 5); // a recv ack's flush: 5 ms after the loop's time, 3
    await clock.run(20);
    assert.deepEqual(fired, [8], 'at the whole ms, not 5 ms after the sim\'s 3.4');
  });

  it('has arrivals wait for a live worker\'s timers: whole ms of loop time, at least 1 ms after arming', async () => {
    const clock = new SimClock(0);
    const timers = nodeTimers(clock);
    const fired: number[] = [];
    await clock.run(10.3);
    timers.setTimeout(() => fired.push(clock.now()), 0.2); // due at 10.5: the loop's time is 10, so at 11
    timers.setTimeout(() => fired.push(clock.now()), 1.5); // due at 11.8: at 12 (10 + 1.5, rounded up)
    timers.setTimeout(() => fired.push(clock.now()), 0); // at once live is at least 1 ms: at 11
    await clock.run(20);
    assert.deepEqual(fired, [11, 11, 12]);
    // The loop's ms ticks 0.25 ms after the sim's: at 20.5 its time is 20 (ticked at 20.25), so a 1 ms timer runs at 21.25.
    const shifted = nodeTimers(clock, 0.25);
    await clock.run(20.5);
    shifted.setTimeout(() => fired.push(clock.now()), 1);
    await clock.run(30);
    assert.equal(fired.at(-1), 21.25);
  });
});
