import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../chaos/control.ts';
import { writeClusterState } from '../chaos/cluster.ts';
import { worlds, type StartedWorld } from '../system/worlds/worlds.ts';

/** The CLI in a child process, awaited without blocking this one (the cluster it talks to runs here). */
function chatlab(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/chatlab.js', ...args], { encoding: 'utf8', timeout: 60_000 }, (err, out, errText) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errText });
    });
  });
}

describe('chatlab up, chaos and run --cluster on the command line', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'chatlab-cluster-'));
  const state = join(dir, 'cluster.json');
  let world: StartedWorld;
  let server: ControlServer;

  before(async () => {
    world = await worlds.embedded!({ nodes: 2, seed: 1, outDir: dir });
    server = await ControlServer.start(world);
    writeClusterState(state, {
      world: 'embedded', pid: process.pid, nodes: world.nodes, secret: world.secret, pushUrl: world.pushUrl, control: server.url, startedAt: new Date().toISOString(),
    });
  });
  after(async () => {
    await server?.close();
    await world?.stop();
  });

  it('says there is no running cluster when the state file is missing', async () => {
    const r = await chatlab('chaos', 'node-kill', '--cluster', join(dir, 'missing.json'));
    assert.notEqual(r.code, 0);
    assert.match(r.err, /no running cluster at .*missing\.json \(no state file\) — start one with `chatlab up`/);
  });

  it('says there is no running cluster when the state file names one that does not answer', async () => {
    const dead = join(dir, 'dead.json');
    writeClusterState(dead, { world: 'embedded', pid: 1, nodes: [], secret: 's', control: 'http://127.0.0.1:1', startedAt: '' });
    const r = await chatlab('chaos', '--list', '--cluster', dead);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /no running cluster at http:\/\/127\.0\.0\.1:1 .*— start one with `chatlab up`/);
  });

  it('rejects unknown options and malformed fault options by name', async () => {
    assert.match((await chatlab('chaos', 'node-kill', '--bogus')).err, /unknown option '--bogus'/);
    assert.match((await chatlab('chaos', 'latency', '--opt', 'ms')).err, /--opt: expected key=value \(e.g. --opt ms=200\), got "ms"/);
    assert.match((await chatlab('up', '--world', 'embedded', '--proxies')).err, /--proxies applies to --world local/);
    assert.match((await chatlab('up', '--world', 'mars')).err, /Allowed choices are embedded, local, containers/);
  });

  it('lists the faults the cluster supports and refuses the others before applying anything', async () => {
    const list = await chatlab('chaos', '--list', '--cluster', state);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^ {2}node-kill +crash a chat node/m);
    assert.match(list.out, /not here:\n(.|\n)*node-pause +the embedded world has no pauseNode/);
    const pause = await chatlab('chaos', 'node-pause', '--duration', '1s', '--cluster', state);
    assert.notEqual(pause.code, 0);
    assert.match(pause.err, /fault \(node-pause\): cannot apply in the embedded world/);
    assert.deepEqual(server.desk.list(), []);
  });

  it('injects a fault, waits for its revert and prints its mark', async () => {
    const r = await chatlab('chaos', 'node-kill', '--target', 'node-1', '--duration', '300ms', '--cluster', state);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^node-kill node-1 from \S+Z to \S+Z \(0\.3s\)$/m);
    assert.equal(world.embedded!.nodes[0]!.up, true);
    assert.equal(server.desk.list().length, 1);
  });

  it('refuses a drill with its own chaos schedule, and options that would pick another cluster, with --cluster', async () => {
    const drill = await chatlab('run', 'node-failure', '--cluster', state, '--no-progress');
    assert.notEqual(drill.code, 0);
    assert.match(drill.err, /node-failure has a chaos schedule.*`chatlab chaos`/);
    assert.match((await chatlab('run', 'steady-chat', '--cluster', state, '--nodes', '2')).err, /--nodes does not apply with --cluster/);
    assert.match((await chatlab('run', 'steady-chat', '--cluster', state, '--world', 'local')).err, /--world does not apply with --cluster/);
  });

  it('refuses to start a second cluster over a state file whose cluster still answers', async () => {
    const r = await chatlab('up', '--state', state);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /a cluster is already running \(pid \d+/);
  });
});
