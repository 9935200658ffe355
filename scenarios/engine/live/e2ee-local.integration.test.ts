import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedCassandra } from '../../../system/testing/shared-cassandra.ts';
import { MarkerFinder, scanCassandra, scanRedis, scanTappedFrames, watchRedis, type RedisWatch, type ScanCount } from '../../../system/testing/plaintext-scan.ts';
import { runLive } from './live.ts';

const quiet = { progress: false, log: () => {} };
/** Every message body the load sends starts with this text (scenarios/engine/load.ts FILLER). */
const MARKER = 'lorem ipsum dolor';

/** What one run's scan saw, source by source (`seen`: frames, keys, messages, commands, rows). */
interface Scan {
  frames: ReturnType<typeof scanTappedFrames>;
  redis: ScanCount;
  pubsub: ScanCount;
  commands: ScanCount;
  cassandra: ScanCount & { tables: number };
  /** From the moment the load was armed to the Redis watch listening. */
  watchReadyMs: number;
}

/**
 * Runs a short steady-chat in the local world (node processes, a real
 * redis-server and Cassandra) with the wire tap on, watching Redis's pub/sub
 * and every command it is sent during the load; once the run is over and
 * before the world stops, scans every tapped frame, every Redis key and
 * value, and every row of every table of the run's keyspace for the marker.
 */
async function scanLocalRun(e2ee: boolean, seed: number) {
  const { contactPoint, localDataCenter } = await sharedCassandra();
  const outDir = mkdtempSync(join(tmpdir(), 'chatlab-e2ee-local-'));
  const frameTap = join(outDir, 'frames');
  const finder = new MarkerFinder(MARKER);
  let watching: Promise<RedisWatch> | undefined;
  let loadStartedAt = 0;
  let scan: Scan | undefined;
  try {
    const { report } = await runLive({
      scenario: 'steady-chat', world: 'local', cassandra: contactPoint, seed, outDir, frameTap, ...quiet,
      overrides: { devices: 40, devicesPerUser: 2, duration: '3s', rate: 40, warmup: '0s', graceMs: 60_000, e2ee },
      onLoadStart: (world) => {
        // The first message goes 300 ms after this (live.ts's t0): the watch is listening long before.
        loadStartedAt = Date.now();
        watching = watchRedis(world.local!.redisUrl, finder);
        watching.catch(() => {});
      },
      onLoadEnd: async (world) => {
        const watch = await watching!;
        await watch.stop();
        const local = world.local!;
        scan = {
          frames: scanTappedFrames(frameTap, finder),
          redis: await scanRedis(local.redisUrl, finder),
          pubsub: watch.pubsub,
          commands: watch.commands,
          cassandra: await scanCassandra(local.cassandra, local.keyspace, finder, localDataCenter),
          watchReadyMs: watch.readyAt - loadStartedAt,
        };
      },
    });
    assert.ok(scan, 'the scan ran before the world stopped');
    return { report, ...scan! };
  } finally {
    await (await watching?.catch(() => undefined))?.stop();
  }
}

describe('End-to-end encryption, live against the local world: the marker nowhere on the wire or in the stores', function () {
  this.timeout(600_000);

  it('finds no plaintext in any frame a node received or sent, any Redis key, value, command or pub/sub message, or any Cassandra row', async () => {
    const { report, frames, redis, pubsub, commands, cassandra, watchReadyMs } = await scanLocalRun(true, 21);
    assert.equal(report.world, 'local');
    assert.equal(report.e2ee!.mode, 'real');
    assert.ok(report.messages.acked > 50, `acked ${report.messages.acked}`);
    assert.equal(report.delivery.lost, 0);
    // A failure names the reasons the devices gave (report.e2ee.undecryptable).
    assert.equal(report.delivery.undecryptable, 0, `undecryptable: ${JSON.stringify(report.e2ee?.undecryptable)}`);
    // The scan saw data everywhere it looked...
    assert.ok(watchReadyMs < 300, `Redis watched ${watchReadyMs} ms after the load was armed`);
    assert.equal(frames.files, report.nodes, 'a tap file per node');
    assert.ok(frames.in > 100 && frames.out > 100, `frames tapped: ${frames.in} in, ${frames.out} out`);
    assert.ok(redis.seen > 0, 'Redis keys scanned');
    assert.ok(pubsub.seen > 0, 'bus messages watched');
    assert.ok(commands.seen > 0, 'Redis commands watched');
    assert.ok(cassandra.tables > 0 && cassandra.seen > 0, `Cassandra: ${cassandra.seen} rows in ${cassandra.tables} tables`);
    // ...and found no plaintext.
    assert.equal(frames.hits, 0, `a frame carried plaintext: ${frames.firstHit}`);
    assert.equal(redis.hits, 0, `a Redis value holds plaintext: ${redis.firstHit}`);
    assert.equal(pubsub.hits, 0, `a bus message carried plaintext: ${pubsub.firstHit}`);
    assert.equal(commands.hits, 0, `a Redis command carried plaintext: ${commands.firstHit}`);
    assert.equal(cassandra.hits, 0, `a Cassandra row holds plaintext: ${cassandra.firstHit}`);
  });

  it('the same scan finds the plaintext with --no-e2ee (the scan works)', async () => {
    const { report, frames, pubsub, commands, cassandra } = await scanLocalRun(false, 21);
    assert.equal(report.e2ee!.mode, 'off');
    assert.equal(report.delivery.lost, 0);
    assert.ok(frames.hits > 0, 'the tapped frames show the plaintext');
    assert.ok(pubsub.hits > 0 && commands.hits > 0, 'the bus shows the plaintext');
    assert.ok(cassandra.hits > 0, 'the Cassandra rows show the plaintext');
  });
});
