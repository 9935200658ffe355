import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastErrorLine } from './processes.ts';

describe("A process's last error line (lastErrorLine: an observed exit's detail)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatlab-proc-'));

  it('finds what an uncaught exception printed before Node exited with code 1', () => {
    const log = join(dir, 'node-3.log');
    writeFileSync(log, '{"ready":true}\n');
    try {
      execFileSync(process.execPath, ['-e', "console.log('serving'); setTimeout(() => { throw new TypeError('cannot read properties of undefined (reading \\'rows\\')'); }, 1)"], { stdio: ['ignore', 'pipe', 'pipe'] });
      assert.fail('the child should have exited with code 1');
    } catch (err) {
      const e = err as { status: number; stdout: Buffer; stderr: Buffer };
      assert.equal(e.status, 1);
      writeFileSync(log, `{"ready":true}\n${e.stdout.toString()}${e.stderr.toString()}`, { flag: 'w' });
    }
    assert.equal(lastErrorLine(log), "TypeError: cannot read properties of undefined (reading 'rows')");
  });

  it('is undefined for a log without an error, and for no log at all', () => {
    const log = join(dir, 'quiet.log');
    writeFileSync(log, '{"ready":true}\nstopping on SIGTERM\n');
    assert.equal(lastErrorLine(log), undefined);
    assert.equal(lastErrorLine(join(dir, 'missing.log')), undefined);
  });
});
