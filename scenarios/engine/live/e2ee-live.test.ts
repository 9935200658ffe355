import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { Envelope } from '../../../system/bus/envelope.ts';
import { MarkerFinder, scanTappedFrames } from '../../../system/testing/plaintext-scan.ts';
import { drillFile } from '../../drills/drill-file.ts';
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
    // Introductions before the load confirmed every session on both sides: no pre-key message reached a device while the run measured.
    assert.ok((e.introductions ?? 0) > 0, 'introductions before the load');
    assert.equal(e.sessionsAcceptedInLoad, 0, 'sessions accepted during the load');
    assert.ok(e.encryptUs.count > 50 && e.encryptUs.p50 > 0, 'encrypt µs measured');
    assert.ok(e.decryptUs.count > 50 && e.decryptUs.p50 > 0, 'decrypt µs measured');
    assert.ok(e.senderKeysDistributed > 0, 'group messages went under sender keys');
    assert.ok(e.overheadBytesPerMessage > 0);
    assert.deepEqual(e.undecryptable, {});
    // Latency thresholds are not this test's business (a busy machine moves them); the guarantees are.
    for (const m of ['lost', 'undecryptable', 'duplicated_visible', 'messages_failed']) assert.equal(report.thresholds.find((t) => t.metric === m)?.passed, true, m);
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

  it('counts a delivery it cannot decrypt as undecryptable, on its own line, and the threshold fails', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-e2ee-'));
    let corrupted: string | undefined;
    const { report } = await runLive({
      scenario: 'steady-chat', world: 'embedded', seed: 6, outDir, ...quiet,
      overrides: { devices: 40, duration: '3s', rate: 40, warmup: '0s' },
      onLoadStart: (world) => {
        // Test-only fault: one cross-node direct delivery arrives with its ciphertext's last characters changed (its MAC no longer
        // verifies), and its inbox entry is acked away so the intact copy is never drained.
        const { bus, inbox } = world.embedded!.ports;
        bus.setFilter((_node, env: Envelope) => {
          if (corrupted || env.k !== 'deliver' || env.item.kind !== 'msg' || env.item.conv?.startsWith('g:')) return true;
          const frame = JSON.parse(env.item.frame) as { kind?: string; body: string };
          if (frame.kind !== 'e2e') return true;
          corrupted = env.item.id;
          frame.body = `${frame.body.slice(0, -4)}${frame.body.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
          env.item.frame = JSON.stringify(frame);
          for (const d of env.devices) void inbox.ack(d, [env.item.id]);
          return true;
        });
      },
    });
    assert.ok(corrupted, 'the hook changed a delivery');
    assert.equal(report.delivery.undecryptable, 1);
    assert.equal(report.delivery.lost, 0, 'it arrived: undecryptable, not lost');
    assert.deepEqual(report.e2ee!.undecryptable, { bad_mac: 1 });
    const t = report.thresholds.find((x) => x.metric === 'undecryptable')!;
    assert.deepEqual([t.passed, t.actual], [false, 1]);
    assert.equal(report.passed, false);
  });

  it('a reinstalled device gets new sessions: its contacts see the identity change, and the node refuses sends to its old identity', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-e2ee-'));
    const file = drillFile('reinstall', [], {
      population: { devices: 60, devicesPerUser: 1 },
      social: { contactsPerUser: 5, groups: [] },
      timeline: [{ at: '1s', action: 'reinstall', share: 0.2 }],
    });
    const { report } = await runLive({ scenario: file, world: 'embedded', seed: 7, outDir, ...quiet, overrides: { duration: '4s', rate: 60, warmup: '0s' } });
    const e = report.e2ee!;
    assert.ok(e.bundlesPublished > 60, `reinstalled devices published again (${e.bundlesPublished})`);
    assert.ok(e.devicesChanged > 0, 'sends encrypted to an old identity were refused and redone');
    assert.ok(e.identityChanges > 0, 'contacts saw the identity change');
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.messages.failed, 0);
    // Only what was already on its way to an old identity when the app was reinstalled can be undecryptable.
    assert.ok(report.delivery.undecryptable <= 12, `undecryptable ${report.delivery.undecryptable}`);
  });

  it('rotates signed pre-keys mid-run: the new ones are published, nothing becomes unreadable, and sessions started after open', async () => {
    const run = async (timeline: { at: string; action: 'rotate-keys' | 'reinstall'; share: number }[]) => {
      const file = drillFile('rotate-keys', [], { population: { devices: 60, devicesPerUser: 1 }, social: { contactsPerUser: 5, groups: [] }, timeline });
      const outDir = mkdtempSync(join(tmpdir(), 'chatlab-e2ee-'));
      return (await runLive({ scenario: file, world: 'embedded', seed: 9, outDir, ...quiet, overrides: { duration: '4s', rate: 60, warmup: '0s' } })).report;
    };
    // Half the devices rotate during the load: every message still opens.
    const rotated = await run([{ at: '500ms', action: 'rotate-keys', share: 0.5 }]);
    const e = rotated.e2ee!;
    assert.ok(e.signedPreKeyRotations! >= 20 && e.signedPreKeyRotations! <= 40, `rotated ${e.signedPreKeyRotations}`);
    assert.ok(e.bundlesPublished >= 60 + e.signedPreKeyRotations!, `published ${e.bundlesPublished}: the first bundles, then one per rotation`);
    assert.deepEqual(e.undecryptable, {});
    assert.equal(rotated.delivery.undecryptable, 0);
    assert.equal(rotated.delivery.lost, 0);
    assert.equal(rotated.messages.failed, 0);

    // Then a fifth reinstall and start new sessions with their contacts, from the rotated bundles too: they verify and
    // open; what is undecryptable is only what was on its way to the old identities (as in the reinstall test).
    const after = await run([{ at: '500ms', action: 'rotate-keys', share: 0.5 }, { at: '1500ms', action: 'reinstall', share: 0.2 }]);
    assert.ok(after.e2ee!.identityChanges > 0, 'the reinstalled devices started new sessions');
    assert.equal(after.e2ee!.undecryptable.bad_signature ?? 0, 0);
    assert.ok(after.delivery.undecryptable <= 12, `undecryptable ${after.delivery.undecryptable}`);
    assert.equal(after.delivery.lost, 0);
    assert.equal(after.messages.failed, 0);
  });

  it('seals media attachments under a fresh key inside the encrypted message, and every recipient opens them', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-e2ee-'));
    const file = drillFile('media', [], {
      population: { devices: 40, devicesPerUser: 2 },
      behaviour: { bodyBytes: { min: 20, max: 100 }, readDelayMs: -1, media: { share: 0.5, bytes: { min: 2000, max: 6000 } } },
    });
    const { report } = await runLive({ scenario: file, world: 'embedded', seed: 8, outDir, ...quiet, overrides: { duration: '3s', rate: 40, warmup: '0s' } });
    const e = report.e2ee!;
    assert.ok(e.attachmentsSealed > 20, `sealed ${e.attachmentsSealed}`);
    assert.ok(e.attachmentsOpened >= e.attachmentsSealed, `opened ${e.attachmentsOpened} of ${e.attachmentsSealed} sealed (each by every recipient device)`);
    assert.equal(report.delivery.undecryptable, 0);
    assert.equal(report.delivery.lost, 0);
    assert.ok(e.overheadBytesPerMessage > 1000, 'the sealed media travels in the message');
  });
});

