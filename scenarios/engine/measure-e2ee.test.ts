import assert from 'node:assert/strict';
import { cpus, loadavg } from 'node:os';
import { e2eeCostSchema } from '../../system/worlds/sim/e2ee-cost.ts';
import { openAttachment, sealAttachment } from '../device/e2ee/attachment.ts';
import { DH_STEP_SHARE, measureE2eeCost } from './measure-e2ee.ts';

describe('measureE2eeCost', function () {
  this.timeout(60_000);

  it('measures every figure of the sim\'s E2EE cost model with the real crypto, in a bounded time', () => {
    // About a second on a quiet 2-core machine; others' work (a load average above the cores) stretches it as much.
    const boundMs = 3000 * Math.max(1, (loadavg()[0] ?? 0) / cpus().length);
    const t0 = performance.now();
    const { model, detail } = measureE2eeCost({ date: new Date('2026-01-02T03:04:05Z') });
    const wallMs = performance.now() - t0;
    assert.ok(wallMs < boundMs, `took ${Math.round(wallMs)} ms, bound ${Math.round(boundMs)}`);
    assert.ok(Math.abs(detail.elapsedMs - wallMs) < 50, `elapsedMs ${detail.elapsedMs} is its own wall time (${Math.round(wallMs)})`);
    assert.deepEqual(e2eeCostSchema.safeParse(model).success, true, 'a calibration file takes it as it is');

    // Positive, plausible: a 1:1 message costs µs to ms, a session start more than an encrypt, a DH step more than none.
    for (const k of ['encryptUs', 'decryptUs', 'sessionStartUs', 'sessionAcceptUs', 'groupEncryptUs', 'groupDecryptUs'] as const) {
      assert.ok(model[k] >= 1 && model[k] < 20_000, `${k} ${model[k]}`);
      assert.ok(Number.isInteger(model[k]), `${k} in whole µs`);
    }
    assert.ok(model.sessionStartUs > model.encryptUs, `session start ${model.sessionStartUs} > encrypt ${model.encryptUs}`);
    assert.ok(detail.firstPreKeyDecryptUs > detail.decryptUs.sameChain);
    assert.ok(detail.decryptUs.dhStep > detail.decryptUs.sameChain, `DH step ${detail.decryptUs.dhStep} > same chain ${detail.decryptUs.sameChain}`);
    const mixed = (1 - DH_STEP_SHARE) * detail.decryptUs.sameChain + DH_STEP_SHARE * detail.decryptUs.dhStep;
    assert.ok(Math.abs(model.decryptUs - mixed) <= 1, `decrypt ${model.decryptUs} is the mix of ${mixed}`);
    assert.ok(Math.abs(model.sessionAcceptUs - (detail.firstPreKeyDecryptUs - model.decryptUs)) <= 1, 'accept = first pre-key decrypt less a decrypt');

    // Overheads as ModeledCrypto writes them: beyond the plaintext and the marker, in base64url characters.
    assert.ok(model.messageOverheadBytes > 0 && model.senderKeyOverheadBytes > 0 && model.distributionBytes > 0);
    assert.ok(model.preKeyMessageOverheadBytes > model.messageOverheadBytes, 'a pre-key message wraps a ratchet message');
    // A ratchet message on steady chat's 20–400 B bodies: 67 bytes of header and MAC plus ~8.5 of padding, all base64url, and a third of the plaintext.
    assert.ok(Math.abs(model.messageOverheadBytes + 1 - (4 / 3) * (67 + 8.5) - 210 / 3) < 3, `ratchet overhead ${model.messageOverheadBytes}`);
    assert.equal(model.preKeyMessageOverheadBytes + 44 - (model.messageOverheadBytes + 1) > 85, true, 'identity and base keys (64 B) and two pre-key ids');

    // Media in µs per KiB, as the sim charges it: beside the same sealing and opening timed here, not a thousand times it.
    const media = new Uint8Array(8192).fill(7);
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t = performance.now();
      const sealed = sealAttachment(media);
      openAttachment(sealed.blob, sealed.key, sealed.digest);
      times.push(((performance.now() - t) * 1000) / 2 / 8);
    }
    const here = times.sort((a, b) => a - b)[6]!;
    assert.ok(model.attachmentUsPerKiB > here / 20 && model.attachmentUsPerKiB < here * 20, `attachment ${model.attachmentUsPerKiB} µs/KiB, timed here ${here.toFixed(1)}`);

    assert.match(model.source, /^measureE2eeCost, real DeviceCrypto: \d+ cores \(.+\), node v\d+\.\d+\.\d+, 2026-01-02, load \d+\.\d$/);
    assert.deepEqual(detail.bodyBytes, { min: 20, max: 400 }, "steady chat's bodies by default");
  });

  it('takes the body sizes it is given: bigger bodies, bigger base64url overheads', () => {
    const small = measureE2eeCost({ bodyBytes: { min: 10, max: 10 }, messages: 50, sessions: 5, groupMessages: 50 });
    const big = measureE2eeCost({ bodyBytes: { min: 1000, max: 1000 }, messages: 50, sessions: 5, groupMessages: 50 });
    assert.deepEqual(small.detail.samples, { messages: 50, sessions: 5, groupMessages: 50 });
    // base64url carries 3 bytes in 4 characters: 990 more bytes of plaintext are 330 more characters beyond it.
    assert.ok(Math.abs(big.model.messageOverheadBytes - small.model.messageOverheadBytes - 330) <= 12, `${small.model.messageOverheadBytes} → ${big.model.messageOverheadBytes}`);
    assert.equal(small.model.distributionBytes > 0, true);
  });
});
