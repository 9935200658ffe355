import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoCluster, readClusterState, writeClusterState, type ClusterState } from './cluster.ts';

const state: ClusterState = { world: 'embedded', pid: 1, nodes: [{ id: 'node-1', url: 'ws://127.0.0.1:9001', number: 1 }], secret: 's', control: 'http://127.0.0.1:9000', startedAt: '2026-12-05T00:00:00Z' };

describe('cluster.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatlab-cluster-'));

  it('reads back what chatlab up wrote', () => {
    const file = join(dir, 'ok.json');
    writeClusterState(file, state);
    assert.deepEqual(readClusterState(file), state);
  });

  it('refuses a state file with a missing or malformed field, naming it', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...state, secret: undefined }, /not a state file written by `chatlab up`: secret: expected a string, got nothing/],
      [{ ...state, nodes: [{ id: 'node-1', url: 'ws://x' }] }, /nodes\[0\]\.number: expected a number, got nothing/],
      [{ ...state, control: 'http://10.0.0.1:9000' }, /control: expected a control API on 127\.0\.0\.0\/8, like http:\/\/127\.0\.0\.1:<port>, got "http:\/\/10\.0\.0\.1:9000"/],
    ];
    for (const [i, [content, refusal]] of cases.entries()) {
      const file = join(dir, `bad-${i}.json`);
      writeFileSync(file, JSON.stringify(content));
      assert.throws(() => readClusterState(file), (e: Error) => e instanceof NoCluster && refusal.test(e.message));
    }
  });
});
