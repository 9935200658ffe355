import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from '../scenarios/engine/live/live.ts';
import { startProtocolRelay } from './servers/protocol-relay-child.ts';

describe("bench:driver's floor: the protocol relay", function () {
  this.timeout(120_000);

  it('carries a steady-chat run of the unchanged driver: every send acked, every owed delivery and receipt arrives', async () => {
    const relay = await startProtocolRelay();
    try {
      const { report } = await runLive({
        scenario: 'steady-chat', world: 'embedded', target: relay.urls.join(','), secret: relay.secret, seed: 3,
        overrides: { devices: 60, rate: 100, duration: '2s', warmup: '0s', e2ee: false }, outDir: mkdtempSync(join(tmpdir(), 'chatlab-relay-')), progress: false, log: () => {},
      });
      assert.equal(report.messages.failed, 0);
      assert.equal(report.messages.acked, report.messages.sent);
      assert.ok(report.messages.acked >= 150, `acked ${report.messages.acked}`);
      assert.equal(report.delivery.lost, 0, JSON.stringify(report.delivery));
      assert.ok(report.latency.e2eMs.count > report.messages.acked, 'group messages fan out');
      assert.ok(report.latency.receiptMs.delivered.count > 0, 'delivered receipts come back');
    } finally {
      await relay.stop();
    }
  });
});
