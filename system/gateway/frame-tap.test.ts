import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedCluster } from '../worlds/embedded.ts';
import { TestClient } from '../../test/support/client.ts';
import { parseTap } from './frame-tap.ts';
import { resolveGatewayOptions } from './gateway.ts';

describe('Wire tap (frameTapDir)', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chatlab-tap-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends every frame a node receives and sends to <dir>/<node>.frames.jsonl, in order', async () => {
    const cluster = await EmbeddedCluster.start({ nodes: 2, seed: 1, gateway: { frameTapDir: dir } });
    try {
      const alice = await TestClient.connect(cluster.nodes[0]!.url, cluster.issueToken('alice.1'));
      const bob = await TestClient.connect(cluster.nodes[1]!.url, cluster.issueToken('bob.1'));
      await alice.sendAndAck('c1', 'bob', 'through the tap');
      assert.equal((await bob.next('msg')).body, 'through the tap');
      alice.terminate();
      bob.terminate();
    } finally {
      await cluster.stop();
    }
    const one = parseTap(readFileSync(join(dir, 'node-1.frames.jsonl'), 'utf8'));
    const two = parseTap(readFileSync(join(dir, 'node-2.frames.jsonl'), 'utf8'));
    const kinds = (frames: typeof one, d: 'in' | 'out') => frames.filter((f) => f.dir === d).map((f) => (JSON.parse(f.frame) as { t: string }).t);
    assert.deepEqual(kinds(one, 'in').slice(0, 2), ['hello', 'send']);
    assert.deepEqual(kinds(one, 'out').slice(0, 1), ['welcome']);
    assert.ok(kinds(one, 'out').includes('ack'));
    const sent = one.find((f) => f.dir === 'in' && f.frame.includes('"send"'))!;
    assert.match(sent.frame, /through the tap/);
    const delivered = two.find((f) => f.dir === 'out' && f.frame.includes('"msg"'))!;
    assert.match(delivered.frame, /through the tap/);
    assert.ok(one.every((f, i) => i === 0 || f.at >= one[i - 1]!.at), 'in the order seen');
  });

  it('is off by default and takes no part in the numeric checks', async () => {
    assert.equal(resolveGatewayOptions({}).frameTapDir, undefined);
    assert.equal(resolveGatewayOptions({ frameTapDir: dir }).frameTapDir, dir);
    const cluster = await EmbeddedCluster.start({ nodes: 1, seed: 1 });
    const c = await TestClient.connect(cluster.nodes[0]!.url, cluster.issueToken('alice.1'));
    c.terminate();
    await cluster.stop();
    assert.equal(existsSync(join(dir, 'node-1.frames.jsonl')), false);
  });
});
