import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';
import { runSim } from '../sim/sim.ts';

const quiet = { progress: false, log: () => {} };

describe('Stories, live against the embedded world and in the sim', function () {
  this.timeout(180_000);

  it('posts once, lists on read, views each story once, and every view reaches its poster (embedded)', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-stories-'));
    let stored = 0;
    const { report } = await runLive({
      scenario: 'stories-peak', world: 'embedded', seed: 4, outDir, ...quiet, overrides: { devices: 80, duration: '6s', warmup: '0s' },
      onLoadEnd: (world) => {
        // One entry per post in the store, however many devices listed them (fan-out on read).
        stored = world.embedded!.ports.stories.size;
      },
    });
    const s = report.stories!;
    assert.ok(s.posts > 10 && s.lists > 10, `posts ${s.posts}, lists ${s.lists}`);
    assert.equal(s.posted, s.posts);
    assert.equal(s.listAnswers, s.lists);
    assert.ok(s.views > 0 && s.storiesListed >= s.views);
    // story.viewed is best effort, live only (a node shedding load skips it): nearly every view reaches its poster.
    assert.ok(s.viewReceipts <= s.views && s.viewReceipts >= s.views * 0.95, `view receipts ${s.viewReceipts} of ${s.views} views`);
    assert.deepEqual(s.failed, {});
    assert.equal(stored, s.posted);
    assert.equal(report.delivery.lost, 0);
  });

  it('runs stories-peak in the sim: the same figures for the same seed', async () => {
    const run = () => runSim({ scenario: 'stories-peak', overrides: { devices: 120, duration: '6s' }, seed: 6, ...quiet });
    const [a, b] = [await run(), await run()];
    const s = a.report.stories!;
    assert.ok(s.posted > 10 && s.views > 0);
    assert.equal(s.viewReceipts, s.views);
    assert.deepEqual(s, b.report.stories);
  });
});
