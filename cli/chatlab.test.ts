import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleReport } from '../reports/sample-history.ts';

function chatlab(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/chatlab.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('chatlab CLI', function () {
  this.timeout(60_000);

  it('lists the built-in scenarios with a description each', () => {
    const r = chatlab('list');
    assert.equal(r.code, 0);
    for (const name of ['steady-chat', 'offline-burst', 'group-fanout', 'reconnect-storm', 'node-failure']) assert.match(r.out, new RegExp(`^${name} +\\S`, 'm'));
  });

  it('has --help on every command', () => {
    for (const cmd of ['run', 'list', 'report', 'compare', 'up', 'chaos']) {
      const r = chatlab(cmd, '--help');
      assert.equal(r.code, 0, cmd);
      assert.match(r.out, /Usage: chatlab/);
    }
  });

  it('rejects an unknown option by name', () => {
    const r = chatlab('run', 'steady-chat', '--bogus');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /unknown option '--bogus'/);
  });

  it('answers an option error with the error and one hint line, not the whole help', () => {
    for (const args of [['run', 'steady-chat', '--devices', '-5'], ['run', 'steady-chat', '--bogus'], ['plan', '--dau', '5M']]) {
      const r = chatlab(...args);
      assert.notEqual(r.code, 0);
      const lines = r.err.trim().split('\n');
      assert.equal(lines.length, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(lines[0]!, /^error: /);
      assert.match(lines[1]!, /--help/);
      assert.doesNotMatch(r.err, /Usage:/);
    }
  });

  it('rejects bad values by naming the option', () => {
    assert.match(chatlab('run', 'steady-chat', '--devices', '-5').err, /--devices: expected an integer in \[2, 10000000\], got "-5"/);
    assert.match(chatlab('run', 'steady-chat', '--duration', 'soon').err, /--duration: expected a duration like 500ms, 30s, 2m or 1h30m, got "soon"/);
    assert.match(chatlab('run', 'steady-chat', '--world', 'mars').err, /Allowed choices are embedded/);
    assert.match(chatlab('run', 'no-such-scenario').err, /unknown scenario "no-such-scenario"/);
    assert.match(chatlab('run', 'steady-chat', '--witness', '0').err, /--witness: expected a positive number, got "0"/);
    assert.match(chatlab('run', 'steady-chat', '--world', 'sim', '--witness', '20').err, /--witness applies to live worlds only/);
  });

  it('refuses a --target that is not loopback unless opted in, and says how to opt in', () => {
    // The opt-in from the environment of whoever runs the tests must not leak in; no secret, so nothing connects anywhere.
    const env = { ...process.env, CHATLAB_ALLOW_REMOTE_TARGET: '', CHATLAB_SECRET: '' };
    const run = (extra: Record<string, string>, ...args: string[]) => {
      const r = spawnSync(process.execPath, ['bin/chatlab.js', 'run', 'steady-chat', '--target', 'ws://198.51.100.7:80/ws', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...env, ...extra } });
      return { code: r.status, err: r.stderr };
    };
    const refused = run({}, '--secret', 'x'.repeat(20));
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /198\.51\.100\.7 is not loopback; load runs target loopback only/);
    assert.match(refused.err, /--allow-remote-target or set CHATLAB_ALLOW_REMOTE_TARGET=1/);
    assert.match(run({ CHATLAB_ALLOW_REMOTE_TARGET: 'maybe' }).err, /CHATLAB_ALLOW_REMOTE_TARGET=maybe: expected 1, true or yes/);
    // Opted in (flag or environment), the policy lets it through: what stops this run is the missing secret, before any connection.
    for (const [extra, args, by] of [[{}, ['--allow-remote-target'], '--allow-remote-target'], [{ CHATLAB_ALLOW_REMOTE_TARGET: '1' }, [], 'CHATLAB_ALLOW_REMOTE_TARGET']] as const) {
      const r = run(extra, ...args);
      assert.notEqual(r.code, 0);
      assert.match(r.err, new RegExp(`target beyond loopback \\(ws://198\\.51\\.100\\.7:80/ws\\), allowed by ${by}`));
      assert.doesNotMatch(r.err, /not loopback/);
      assert.match(r.err, /--target needs --secret/);
    }
    assert.match(chatlab('run', 'steady-chat', '--allow-remote-target').err, /--allow-remote-target applies with --target only/);
  });

  it('re-renders a report and compares two reports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatlab-cli-'));
    const a = sampleReport();
    const b = { ...sampleReport(), world: 'local' };
    writeFileSync(join(dir, 'a.json'), JSON.stringify(a));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(b));
    const r = chatlab('report', join(dir, 'a.json'), '--out', dir);
    assert.equal(r.code, 0, r.err);
    assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<canvas/);
    const c = chatlab('compare', join(dir, 'a.json'), join(dir, 'b.json'));
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /local/);
    const bad = chatlab('compare', join(dir, 'a.json'), join(dir, 'missing.json'));
    assert.notEqual(bad.code, 0);
  });
});
