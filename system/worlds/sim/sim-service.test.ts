import assert from 'node:assert/strict';
import { ServiceQueue } from './sim-service.ts';

describe('ServiceQueue', () => {
  it('serves work on one server first in, first out, each after the one before', () => {
    const q = new ServiceQueue('node-1', 1);
    assert.equal(q.admit(0, 5), 5);
    assert.equal(q.admit(1, 5), 10);
    assert.equal(q.admit(2, 1), 11);
    assert.equal(q.admit(20, 1), 21, 'an idle server starts at once');
  });

  it('charges the wake-up only to work that finds its server idle: light load costs more per job than a backlog', () => {
    const q = new ServiceQueue('nodes', 1, 0.5);
    assert.equal(q.admit(10, 1), 11.5, 'idle: the job and the wake-up');
    assert.equal(q.admit(10, 1), 12.5, 'queued behind it: the job alone');
    assert.equal(q.admit(11, 1), 13.5, 'still busy: no wake-up');
    assert.equal(q.admit(20, 1), 21.5, 'idle again');
    assert.equal(q.totalWakes, 2);
    assert.equal(q.totalBusyMs, 5);
  });

  it("with readMs, charges a socket's read once a turn: frames of one socket that wait for the same turn share it", () => {
    const q = new ServiceQueue('nodes', 1, 0.5, [], 'turn', 0.25);
    const a = { readTurn: NaN };
    const b = { readTurn: NaN };
    assert.equal(q.admit(10, 1, a), 11.75, 'idle: a turn at 10, its wake-up, a read of a, the frame');
    assert.equal(q.admit(10, 1, a), 12.75, 'a again, in the same turn: read with the first, the frame alone');
    assert.equal(q.admit(10, 1, b), 14, 'b in the same turn: a read of its own');
    assert.equal(q.admit(11, 1, a), 15.75, 'a, while that turn ran: the next turn (at 14) wakes and reads a again');
    assert.equal(q.admit(12, 1, a), 16.75, 'a, before that turn began: in its read');
    assert.equal(q.admit(13, 1, b), 18, 'b, before that turn began (13 < 14): in it, with a read of its own');
    assert.equal(q.admit(13, 1), 19, 'work without a socket (a bus envelope, a frame written): no read');
    assert.equal(q.totalReads, 4);
    assert.equal(q.totalWakes, 2);
    const perFrame = new ServiceQueue('nodes', 1, 0.5, [], 'idle', 0.25);
    for (const at of [10, 10, 10]) perFrame.admit(at, 1, a);
    assert.equal(perFrame.totalReads, 3, 'without turns, every read is its own');
    const free = new ServiceQueue('nodes', 1, 0.5, [], 'turn');
    assert.equal(free.admit(10, 1, a), 11.5, 'readMs 0 (older files): the read is in the frame cost');
  });

  it('with wakePer turn, charges the wake-up to each turn of the loop: a turn takes what arrived before it began', () => {
    const q = new ServiceQueue('nodes', 1, 0.5, [], 'turn');
    assert.equal(q.admit(10, 1), 11.5, 'idle: a turn begins at 10, the job and the wake-up');
    assert.equal(q.admit(10, 1), 12.5, 'arrived as that turn began: in its batch, the job alone');
    assert.equal(q.admit(11, 1), 14, 'arrived while the turn ran: the next turn takes it at 12.5, and pays its wake-up');
    assert.equal(q.admit(12, 1), 15, 'arrived before that turn began: in its batch');
    assert.equal(q.admit(13, 1), 16.5, 'arrived while it ran: another turn, at 15');
    assert.equal(q.admit(20, 1), 21.5, 'idle again');
    assert.equal(q.totalWakes, 4);
    const idle = new ServiceQueue('nodes', 1, 0.5);
    for (const [at, ms] of [[10, 1], [10, 1], [11, 1], [12, 1], [13, 1], [20, 1]] as const) idle.admit(at, ms);
    assert.equal(idle.totalWakes, 2, 'the same work, wakePer idle: one wake-up a busy stretch');
    const stores = new ServiceQueue('redis', 2, 0.5, [], 'turn');
    stores.admit(0, 1);
    stores.admit(0.5, 1);
    assert.equal(stores.totalWakes, 2, 'several servers: each idle server woken, no turns');
  });

  it('gives each arrival the earliest free server', () => {
    const q = new ServiceQueue('redis', 2);
    assert.equal(q.admit(0, 10), 10);
    assert.equal(q.admit(0, 4), 4);
    assert.equal(q.admit(1, 1), 5, 'the second server frees up first');
  });

  it('reports the backlog new work would wait and whether a server is idle', () => {
    const q = new ServiceQueue('cassandra', 1);
    assert.equal(q.backlogMs(0), 0);
    assert.ok(q.idleAt(0));
    q.admit(0, 3);
    q.admit(0, 3);
    assert.equal(q.backlogMs(1), 5);
    assert.ok(!q.idleAt(1));
    assert.ok(q.idleAt(6));
  });

  it('forgets queued work on reset, as a restarted process does', () => {
    const q = new ServiceQueue('node-1', 1);
    q.admit(0, 100);
    q.reset(10);
    assert.equal(q.backlogMs(10), 0);
    assert.equal(q.admit(10, 1), 11);
  });

  it('measures utilisation and waits per window, then starts a new window', () => {
    const q = new ServiceQueue('node-1', 2);
    q.admit(0, 10);
    q.admit(0, 10);
    q.admit(0, 10);
    assert.deepEqual(q.window(20), { served: 3, utilisation: 0.75, meanWaitMs: 10 / 3, maxWaitMs: 10 });
    assert.deepEqual(q.window(20), { served: 0, utilisation: 0, meanWaitMs: 0, maxWaitMs: 0 });
    assert.equal(q.totalBusyMs, 30, 'the run total is never reset');
  });

  it('charges a collector pause, as one block with it, to the work that fills its budget of CPU', () => {
    const q = new ServiceQueue('nodes', 1, 0, [{ everyCpuMs: 20, pauseMs: 50 }]);
    assert.equal(q.admit(0, 4), 4, 'the first pause comes after half a budget (where in its cycle a run starts is unknown)');
    assert.equal(q.admit(0, 4), 8);
    assert.equal(q.admit(0, 4), 62, 'the third job fills the 10 ms: it and the pause end together');
    assert.equal(q.admit(0, 4), 66, 'work queued behind a pause waits it out');
    assert.equal(q.admit(100, 13), 113, 'the budget carries over: 2 ms left from the third job, 19 now');
    assert.equal(q.admit(200, 2), 252, 'past 20 ms: the next pause');
    assert.deepEqual(q.pausesTaken, [2]);
    assert.equal(q.totalBusyMs, 131, 'pauses are CPU the process spent');
  });

  it('with marking, begins a pause where its budget fills: the work after takes the marking\'s share of the loop until it is done, then the pause', () => {
    // Marking of 6 ms taking half the loop: each ms of work while it lasts carries 1 ms of it.
    const q = new ServiceQueue('nodes', 1, 0, [{ everyCpuMs: 20, pauseMs: 10, marking: { ms: 6, share: 0.5 } }]);
    assert.equal(q.admit(0, 4), 4);
    assert.equal(q.admit(0, 4), 8);
    assert.equal(q.admit(0, 4), 12, 'the third job fills the budget: the marking begins after it, no block');
    assert.equal(q.admit(0, 4), 20, 'marking: 4 ms of work carry 4 of it');
    assert.deepEqual(q.pausesTaken, [0], 'not done yet: no pause');
    assert.equal(q.admit(0, 4), 36, 'the last 2 ms of marking, then the pause of 10');
    assert.deepEqual(q.pausesTaken, [1]);
    assert.equal(q.admit(100, 4), 104, 'the budget runs again from what the filling job left');
    assert.equal(q.totalBusyMs, 24 + 6 + 10, 'work, marking and pause are all CPU the process spent');
    assert.throws(() => new ServiceQueue('x', 1, 0, [{ everyCpuMs: 5, pauseMs: 1, marking: { ms: 5, share: 1 } }]), /x: a pause's marking needs/);
  });

  it('extends the work under way: work admitted later waits for it, work admitted before keeps its time; one server only', () => {
    const q = new ServiceQueue('loop', 1);
    assert.equal(q.admit(0, 1), 1);
    assert.equal(q.admit(0, 1), 2, 'queued behind the first');
    q.extend(1, 0.5); // the first found more to do once it ran
    assert.equal(q.admit(1.2, 1), 3.5, 'later work waits for the extension too');
    q.extend(10, 2); // idle at 10: the extension starts then
    assert.equal(q.admit(10, 1), 13);
    assert.equal(q.totalBusyMs, 6.5);
    assert.throws(() => new ServiceQueue('pool', 2).extend(0, 1), /pool: extend needs one server/);
  });

  it('refuses a queue without servers, or with a pause that has no budget', () => {
    assert.throws(() => new ServiceQueue('x', 0), RangeError);
    assert.throws(() => new ServiceQueue('x', 1.5), RangeError);
    assert.throws(() => new ServiceQueue('x', 1, 0, [{ everyCpuMs: 0, pauseMs: 5 }]), /x: a pause needs everyCpuMs > 0/);
    assert.throws(() => new ServiceQueue('x', 1, 0, [{ everyCpuMs: 5, pauseMs: -1 }]), RangeError);
  });
});
