import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../system/worlds/infra/provisioning.ts';
import { readTransferFile, writeTransferFile } from '../../../reports/ledger-file.ts';
import type { LedgerTransfer } from '../../../reports/ledger.ts';
import { mergeShards, type ShardManifest } from './shard.ts';

const SHARDS = 3;

/** Runs `chatlab run … --shard i/3` as its own process; resolves with its exit code and output. */
function runShard(i: number, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'cli/chatlab.ts', 'run', 'steady-chat', '--shard', `${i}/${SHARDS}`, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

function ledgerOf(dir: string): LedgerTransfer {
  return readTransferFile(join(dir, 'ledger.bin'));
}

/** A transfer with row `row` of one table left out. */
function withoutRow(t: LedgerTransfer, table: 'deliveries' | 'sends', row: number): LedgerTransfer {
  const cols = t[table] as unknown as Record<string, Float64Array | Float32Array | Uint32Array | Uint8Array>;
  const out: Record<string, unknown> = {};
  for (const [name, arr] of Object.entries(cols)) {
    const next = new (arr.constructor as new (n: number) => typeof arr)(arr.length - 1);
    next.set(arr.subarray(0, row));
    next.set(arr.subarray(row + 1), row);
    out[name] = next;
  }
  return { ...t, [table]: out };
}

/** `chatlab up --world embedded` in its own process; resolves once its state file (for --cluster) is written. */
async function chatlabUp(stateFile: string): Promise<ChildProcess> {
  const up = spawn(process.execPath, ['bin/chatlab.js', 'up', '--world', 'embedded', '--nodes', '2', '--state', stateFile], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  up.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 30_000;
  while (!existsSync(stateFile)) {
    if (up.exitCode !== null || Date.now() > deadline) throw new Error(`chatlab up did not come up: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return up;
}

describe('sharded driver and report merge (three processes, one `chatlab up` cluster)', function () {
  this.timeout(120_000);
  let up: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'chatlab-shards-'));

  before(async () => {
    const stateFile = join(dir, 'cluster.json');
    up = await chatlabUp(stateFile);
    const startAt = Date.now() + 25_000;
    const args = [
      '--cluster', stateFile, '--start-at', String(startAt),
      '--devices', '90', '--duration', '4s', '--warmup', '0s', '--rate', '60', '--grace', '3s', '--workers', '1', '--seed', '5', '--no-progress',
    ];
    const runs = await Promise.all(Array.from({ length: SHARDS }, (_, i) => runShard(i, [...args, '--out', join(dir, `shard-${i}`)])));
    runs.forEach((r, i) => assert.equal(r.code, 0, `shard ${i} failed:\n${r.out}`));
  });

  after(async () => {
    if (!up || up.exitCode !== null) return;
    const gone = new Promise((r) => up!.once('exit', r));
    up.kill('SIGTERM');
    await gone;
  });

  it('merges three shards into one exact report: nothing lost, counts are the union, deliveries cross shards', async () => {
    const { report, orphans } = await mergeShards([dir], join(dir, 'merged'));
    const ledgers = Array.from({ length: SHARDS }, (_, i) => ledgerOf(join(dir, `shard-${i}`)));
    const manifests = Array.from({ length: SHARDS }, (_, i) => JSON.parse(readFileSync(join(dir, `shard-${i}`, 'shard.json'), 'utf8')) as ShardManifest);
    assert.deepEqual(new Set(manifests.map((m) => m.t0)).size, 1);
    assert.equal(orphans.count, 0);
    const sends = ledgers.reduce((n, t) => n + t.sends.msg.length, 0);
    assert.ok(sends > 100, `sends ${sends}`);
    assert.equal(report.messages.sent, sends);
    // msgKeys are disjoint across shards.
    const keys = new Set(ledgers.flatMap((t) => [...t.sends.msg]));
    assert.equal(keys.size, sends);
    assert.equal(report.delivery.lost, 0, JSON.stringify(report.delivery.firstLost));
    assert.equal(report.delivery.delivered, report.delivery.expected);
    assert.equal(report.delivery.expected, ledgers.reduce((n, t) => n + t.expects.msg.length, 0));
    assert.equal(report.delivery.deliveredUnacked, 0);
    // With one worker per shard, a msgKey's shard is msgKey % 3: deliveries recorded on a shard other than the sender's.
    const cross = ledgers.reduce((n, t, shard) => n + [...t.deliveries.msg].filter((k) => k % SHARDS !== shard).length, 0);
    assert.ok(cross > 0, 'no delivery crossed shards');
    assert.deepEqual((report.meta.shards as { count: number }).count, SHARDS);
  });

  it('a delivery removed from one shard\'s ledger is exactly one lost message', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'chatlab-shards-cut-'));
    for (let i = 0; i < SHARDS; i++) cpSync(join(dir, `shard-${i}`), join(copy, `shard-${i}`), { recursive: true });
    const all = Array.from({ length: SHARDS }, (_, i) => ledgerOf(join(copy, `shard-${i}`)));
    const pairs = new Map<string, number>();
    for (const t of all) for (let r = 0; r < t.deliveries.msg.length; r++) {
      const key = `${t.deliveries.msg[r]}:${t.deliveries.dev[r]}`;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
    const t1 = all[1]!;
    // A pair delivered once, sent from another shard.
    const row = [...t1.deliveries.msg.keys()].find((r) => pairs.get(`${t1.deliveries.msg[r]}:${t1.deliveries.dev[r]}`) === 1 && t1.deliveries.msg[r]! % SHARDS !== 1)!;
    assert.ok(row !== undefined);
    writeTransferFile(join(copy, 'shard-1', 'ledger.bin'), withoutRow(t1, 'deliveries', row));
    const { report } = await mergeShards([join(copy, 'shard-0'), join(copy, 'shard-1'), join(copy, 'shard-2')], join(copy, 'merged'));
    assert.equal(report.delivery.lost, 1);
    assert.equal(report.delivery.firstLost?.msg, t1.deliveries.msg[row]);
  });

  it('names a delivery whose send is in no shard\'s ledger', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'chatlab-shards-orphan-'));
    for (let i = 0; i < SHARDS; i++) cpSync(join(dir, `shard-${i}`), join(copy, `shard-${i}`), { recursive: true });
    const t0 = ledgerOf(join(copy, 'shard-0'));
    const delivered = new Set(Array.from({ length: SHARDS }, (_, i) => [...ledgerOf(join(copy, `shard-${i}`)).deliveries.msg]).flat());
    const row = [...t0.sends.msg.keys()].find((r) => delivered.has(t0.sends.msg[r]!))!;
    writeTransferFile(join(copy, 'shard-0', 'ledger.bin'), withoutRow(t0, 'sends', row));
    const { report, orphans } = await mergeShards([copy], join(copy, 'merged'));
    assert.ok(orphans.count >= 1);
    assert.deepEqual(orphans.keys, [t0.sends.msg[row]]);
    const meta = report.meta.shards as { orphanDeliveries: number; orphanNote: string };
    assert.equal(meta.orphanDeliveries, orphans.count);
    assert.match(meta.orphanNote, new RegExp(`msgKey ${t0.sends.msg[row]} \\(shard 0\\)`));
  });

  it('names the shards missing from a merge', async () => {
    await assert.rejects(mergeShards([join(dir, 'shard-0'), join(dir, 'shard-2')], join(dir, 'partial')), /shards missing: 1\/3 \(have 0\/3, 2\/3/);
  });
});
