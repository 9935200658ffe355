import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryInbox } from '../../system/inbox/inbox-memory.ts';
import { virtualHarness } from '../../system/testing/harness.ts';
import type { UndeliveredPair } from '../../reports/pending.ts';
import { askInboxes, classifyUndelivered } from './classify.ts';
import { runLive } from './live/live.ts';
import { runSim } from './sim/sim.ts';

const quiet = { progress: false, log: () => {} };
const BEHAVIOURS = fileURLToPath(new URL('../builtin/behaviours.ts', import.meta.url));

/**
 * A scenario file where half the devices go offline early and never come
 * back (no push wake-up either), while the rest send them messages: those
 * messages are acked and wait in the offline devices' inboxes at the end.
 */
function offlineAtEndFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'chatlab-pending-')), 'offline-at-end.ts');
  const scenario = {
    name: 'offline-at-end',
    description: 'half the devices go offline for good; the others send to them',
    population: { devices: 20, devicesPerUser: 1 },
    social: { contactsPerUser: 5, groups: [] },
    behaviour: { bodyBytes: { min: 20, max: 60 }, readDelayMs: -1, wakeOnPush: false },
    options: {
      scenarios: { toOffline: { executor: 'constant-arrival-rate', rate: 40, timeUnit: '1s', duration: '1s', startTime: '500ms', exec: 'toOffline' } },
      thresholds: { lost: ['count==0'], pending: ['count>0'] },
    },
    timeline: [{ at: '200ms', action: 'offline', share: 0.5, cohort: 'gone' }],
    chaos: [],
    graceMs: 1000,
    lateMs: 500,
    nodes: 2,
  };
  writeFileSync(file, `import { toOffline } from ${JSON.stringify(BEHAVIOURS)};\nexport default { ...${JSON.stringify(scenario)}, exec: { toOffline: toOffline('gone') } };\n`);
  return file;
}

describe('Late or lost at the end of a run', function () {
  this.timeout(120_000);

  it('asks each device inbox once about its undelivered mids, leaving group-read and mid-less pairs unasked', async () => {
    const inbox = new MemoryInbox({ clock: virtualHarness().clock });
    await inbox.put([
      { device: 'u1.1', id: '000000000010010000', kind: 'msg', frame: 'f' },
      { device: 'u2.1', id: '000000000020010000', kind: 'msg', frame: 'f' },
    ]);
    const pairs: UndeliveredPair[] = [
      { msg: 1, dev: 1, mid: '000000000010010000', path: 'direct' },
      { msg: 2, dev: 1, mid: '000000000020010000', path: 'direct' },
      { msg: 2, dev: 2, mid: '000000000020010000', path: 'cross-node' },
      { msg: 3, dev: 2, mid: null, path: 'direct' },
      { msg: 4, dev: 2, mid: '000000000040010000', path: 'group-read' },
    ];
    const asked: string[] = [];
    const has = inbox.has.bind(inbox);
    inbox.has = (device, ids) => (asked.push(device), has(device, ids));
    const answer = await askInboxes(pairs, (d) => `u${d}.1`, inbox, 5000);
    assert.deepEqual(answer, { atMs: 5000, held: [{ msg: 1, dev: 1 }, { msg: 2, dev: 2 }], unasked: 2 });
    assert.deepEqual(asked.sort(), ['u1.1', 'u2.1']);
  });

  it('classifies nothing for a cluster without store access, or when the store fails, and says why', async () => {
    const pairs: UndeliveredPair[] = [{ msg: 1, dev: 1, mid: '000000000010010000', path: 'direct' }];
    const none = await classifyUndelivered(undefined, pairs, String, 0);
    assert.equal(none.stores, null);
    assert.match(none.note, /no access to the stores/);
    const failing = await classifyUndelivered(async () => { throw new Error('connection refused'); }, pairs, String, 0);
    assert.equal(failing.stores, null);
    assert.match(failing.note, /did not answer: connection refused/);
  });

  it('reports the messages of devices offline at the end as pending, not lost, in the embedded world', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-live-'));
    const { report } = await runLive({ scenario: offlineAtEndFile(), world: 'embedded', overrides: {}, seed: 2, outDir, ...quiet });
    const d = report.delivery;
    assert.equal(d.classified, 'stores');
    assert.ok(report.messages.acked > 20, `acked ${report.messages.acked}`);
    assert.ok(d.pending > 20, `pending ${d.pending}`);
    assert.equal(d.lost, 0, JSON.stringify(d.firstLost));
    assert.equal(d.delivered + d.pending, d.expected);
    assert.ok(d.pendingAgeMs.max >= 1000 && d.pendingAgeMs.max < 10_000, JSON.stringify(d.pendingAgeMs));
    assert.equal(report.passed, true, JSON.stringify(report.thresholds));
  });

  it('reports them as pending in the sim as well', async () => {
    const { report } = await runSim({ scenario: offlineAtEndFile(), overrides: {}, seed: 2, ...quiet });
    const d = report.delivery;
    assert.equal(d.classified, 'stores');
    assert.ok(d.pending > 20, `pending ${d.pending}`);
    assert.equal(d.lost, 0, JSON.stringify(d.firstLost));
    assert.equal(d.delivered + d.pending, d.expected);
    assert.equal(report.meta.firstViolation, null);
  });
});
