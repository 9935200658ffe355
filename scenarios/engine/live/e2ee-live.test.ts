import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { Envelope } from '../../../system/bus/envelope.ts';
import { MarkerFinder, scanTappedFrames } from '../../../system/testing/plaintext-scan.ts';
import { runLive } from './live.ts';

const quiet = { progress: false, log: () => {} };
/** Every message body the load sends starts with this text (scenarios/engine/load.ts FILLER). */
const MARKER = 'lorem ipsum dolor';

/** Everything an object holds, deep, as text (Maps, Sets and typed arrays included): where a plaintext would show. */
function dump(o: unknown): string {
  return inspect(o, { depth: Infinity, maxArrayLength: Infinity, maxStringLength: Infinity, showHidden: false });
}

/**
 * Runs a short steady-chat with 2 devices per user, scanning every bus
 * envelope and, at the end, the stores and every frame the nodes received
 * and sent (the wire tap), for the marker.
 */
async function scanRun(e2ee: boolean, seed: number) {
  const outDir = mkdtempSync(join(tmpdir(), 'chatlab-e2ee-'));
  const frameTap = join(outDir, 'frames');
  let envelopes = 0;
  let plaintextEnvelopes = 0;
  let stores = '';
  const { report } = await runLive({
    scenario: 'steady-chat', world: 'embedded', seed, outDir, frameTap, ...quiet,
    overrides: { devices: 40, devicesPerUser: 2, duration: '3s', rate: 40, warmup: '0s', e2ee },
    onLoadStart: (world) => {
      const ports = world.embedded!.ports;
      ports.bus.setFilter((_node, env: Envelope) => {
        envelopes++;
        if (JSON.stringify(env).includes(MARKER)) plaintextEnvelopes++;
        return true;
      });
      stores = '';
      // Read once the run is over (the world is stopped after the report): keep a handle on the stores.
      scanStores = () => (stores = dump({ inbox: ports.inbox, log: ports.log }));
    },
  });
  scanStores?.();
  const frames = scanTappedFrames(frameTap, new MarkerFinder(MARKER));
  return { report, envelopes, plaintextEnvelopes, storesHold: stores.includes(MARKER), frames };
}
let scanStores: (() => string) | undefined;

describe('End-to-end encryption, live against the embedded world', function () {
  this.timeout(180_000);

  it('delivers every message with 2 devices per user, none undecryptable, and reports what the crypto cost', async () => {
    const { report, plaintextEnvelopes, envelopes, storesHold, frames } = await scanRun(true, 5);
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.delivery.undecryptable, 0);
    assert.equal(report.delivery.delivered, report.delivery.expected);
    assert.ok(report.messages.acked > 50, `acked ${report.messages.acked}`);
    const e = report.e2ee!;
    assert.equal(e.mode, 'real');
    assert.equal(e.devicesPerUser, 2);
    assert.ok(e.sessionsStarted > 0 && e.sessionsAccepted > 0, `sessions ${e.sessionsStarted}/${e.sessionsAccepted}`);
    assert.ok(e.encryptUs.count > 50 && e.encryptUs.p50 > 0, 'encrypt µs measured');
    assert.ok(e.decryptUs.count > 50 && e.decryptUs.p50 > 0, 'decrypt µs measured');
    assert.ok(e.senderKeysDistributed > 0, 'group messages went under sender keys');
    assert.ok(e.overheadBytesPerMessage > 0);
    assert.deepEqual(e.undecryptable, {});
    assert.equal(report.passed, true);
    // The server sees ciphertext only: no envelope between nodes and nothing the stores hold carries the plaintext.
    assert.ok(envelopes > 0, 'the scan saw envelopes');
    assert.equal(plaintextEnvelopes, 0, 'an envelope carried plaintext');
    assert.equal(storesHold, false, 'a store holds plaintext');
    // Nor does any frame a node received or sent.
    assert.equal(frames.files, report.nodes, 'a tap file per node');
    assert.ok(frames.in > 100 && frames.out > 100, `frames tapped: ${frames.in} in, ${frames.out} out`);
    assert.equal(frames.hits, 0, `a frame carried plaintext: ${frames.firstHit}`);
  });

  it('the same scan finds the plaintext with --no-e2ee (the scan works)', async () => {
    const { report, plaintextEnvelopes, storesHold, frames } = await scanRun(false, 5);
    assert.equal(report.e2ee!.mode, 'off');
    assert.ok(report.e2ee!.bytesPerMessage > 0);
    assert.ok(plaintextEnvelopes > 0 || storesHold, 'plaintext is visible without end-to-end encryption');
    assert.ok(frames.hits > 0, 'the tapped frames show the plaintext');
    assert.equal(report.delivery.lost, 0);
  });
});
