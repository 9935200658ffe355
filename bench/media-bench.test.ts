import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

describe('bench:media', function () {
  this.timeout(90_000);

  it('loads every path and its bare baseline, every answer 2xx, stops its servers, and ends with the ratio line', async () => {
    // A light run: one second per target, no warm-up, 4 connections.
    const bench = fileURLToPath(new URL('./media.bench.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', bench, '--seconds', '1', '--warmup', '0', '--connections', '4'], { timeout: 80_000 });
    const lines = stdout.trimEnd().split('\n');
    for (const path of ['POST /v1/uploads (exists)', 'GET /v1/media edge (hit)', 'GET /v1/media origin', 'POST /auth/request']) {
      assert.ok(lines.some((l) => l.startsWith(path) && /\|\s+\d+\.\d\d$/.test(l)), `a row for ${path} with its ratio:\n${stdout}`);
    }
    assert.ok(lines.includes('every answer 2xx, no errors or timeouts'), stdout);
    assert.match(lines.at(-1)!, /^media\/http ratio: \d+\.\d\d$/);
  });
});
