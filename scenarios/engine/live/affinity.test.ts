import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const AFFINITY = fileURLToPath(new URL('./affinity.ts', import.meta.url));

describe('affinity: onEveryCpu', () => {
  it('starts a child on every CPU even from a process pinned to one (a run standing for a user\'s gets the whole machine)', function () {
    if (cpus().length < 2 || spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status !== 0) this.skip();
    // A parent pinned to CPU 0 reads its child's CPUs: the child of a plain spawn, and the child onEveryCpu starts.
    const script = `
      const { spawnSync } = await import('node:child_process');
      const { onEveryCpu } = await import(${JSON.stringify(AFFINITY)});
      const allowed = (cmd, args) => /Cpus_allowed_list:\\s*(\\S+)/.exec(spawnSync(cmd, args, { encoding: 'utf8' }).stdout)[1];
      const [c, a] = onEveryCpu('cat', ['/proc/self/status']);
      console.log(JSON.stringify({ plain: allowed('cat', ['/proc/self/status']), every: allowed(c, a) }));`;
    const out = execFileSync('taskset', ['-c', '0', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const { plain, every } = JSON.parse(out) as { plain: string; every: string };
    assert.equal(plain, '0', 'a plain child inherits its parent\'s one CPU');
    assert.equal(every, `0-${cpus().length - 1}`);
  });
});
