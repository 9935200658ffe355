import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { redisProbe, Watchdog } from './watchdog.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stand-in Redis on loopback that answers PING with +PONG, or stays silent while `silent` is set. */
async function fakeRedis(): Promise<{ server: Server; port: number; silent: { on: boolean } }> {
  const silent = { on: false };
  const server = createServer((s) => s.on('data', () => (silent.on ? undefined : s.write('+PONG\r\n'))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, silent };
}

describe('Watchdog', () => {
  it('marks a process killed from outside as an observed exit, with its signal and time', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    let exit: string | undefined;
    child.once('exit', (_c, sig) => (exit = `killed by ${sig}`));
    // The probe a killed process no longer answers (its port refuses): a probe between the kill and its exit event must
    // not count as answered, as a real one would not.
    let killed = false;
    const w = new Watchdog({ intervalMs: 50, probeTimeoutMs: 200 });
    w.add({
      name: 'node-2', running: () => exit === undefined, exitDetail: () => exit ?? 'exited',
      probe: async () => {
        if (killed) throw new Error('connect ECONNREFUSED');
      },
    });
    w.start();
    await sleep(120);
    const killedMs = Date.now();
    killed = true;
    process.kill(child.pid!, 'SIGKILL');
    await sleep(300);
    w.stop();
    assert.equal(w.marks.length, 1);
    const m = w.marks[0]!;
    assert.deepEqual([m.kind, m.target, m.detail, m.endEpochMs], ['process-exit', 'node-2', 'killed by SIGKILL', null]);
    // From its last answered probe (at most one 50 ms interval before the kill) on.
    assert.ok(m.startEpochMs <= killedMs && killedMs - m.startEpochMs < 120, `marked from ${killedMs - m.startEpochMs} ms before the kill`);
  });

  it('marks one process-exit, not unresponsive first, when the probe is refused before the exit is reported', async () => {
    let exited = false;
    let refuse = false;
    const w = new Watchdog({ intervalMs: 50, probeTimeoutMs: 200 });
    w.add({
      name: 'node-2', running: () => !exited, exitDetail: () => 'killed by SIGKILL',
      probe: async () => {
        if (refuse) throw new Error('connect ECONNREFUSED');
      },
    });
    w.start();
    await sleep(120);
    refuse = true; // the port is gone at once…
    setTimeout(() => (exited = true), 120); // …the child's exit event comes a little later
    await sleep(700);
    w.stop();
    assert.deepEqual(w.marks.map((m) => [m.kind, m.detail]), [['process-exit', 'killed by SIGKILL']]);
  });

  it('marks a server that stops answering, and ends the mark when it answers again', async () => {
    const redis = await fakeRedis();
    const w = new Watchdog({ intervalMs: 50, probeTimeoutMs: 150 });
    w.add({ name: 'redis', running: () => true, probe: () => redisProbe(redis.port) });
    w.start();
    await sleep(150);
    assert.equal(w.marks.length, 0, 'nothing while it answers');
    redis.silent.on = true;
    await sleep(400);
    redis.silent.on = false;
    await sleep(300);
    w.stop();
    redis.server.close();
    assert.equal(w.marks.length, 1);
    const m = w.marks[0]!;
    assert.equal(m.kind, 'unresponsive');
    assert.ok(m.endEpochMs !== null && m.endEpochMs > m.startEpochMs, 'ended once it answered');
  });

  it('marks nothing while chatlab itself has the target down', async () => {
    let running = true;
    const w = new Watchdog({ intervalMs: 30, probeTimeoutMs: 100 });
    w.add({ name: 'node-1', running: () => running, probe: async () => {} });
    w.start();
    w.quiet('node-1', true);
    running = false;
    await sleep(150);
    running = true;
    w.quiet('node-1', false);
    await sleep(100);
    w.stop();
    assert.deepEqual(w.marks, []);
  });
});
