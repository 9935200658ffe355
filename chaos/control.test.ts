import assert from 'node:assert/strict';
import { ControlServer, type ControlMark } from './control.ts';
import { marksDuring } from './cluster.ts';
import { worlds, type StartedWorld } from '../system/worlds/worlds.ts';

async function post(url: string, body: string, type = 'application/json') {
  const res = await fetch(`${url}/faults`, { method: 'POST', headers: { 'content-type': type }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get<T>(url: string, path: string): Promise<T> {
  return (await (await fetch(`${url}${path}`)).json()) as T;
}

describe('Control server', function () {
  let world: StartedWorld;
  let server: ControlServer;
  this.timeout(20_000);

  before(async () => {
    world = await worlds.embedded!({ nodes: 2, seed: 1, outDir: 'out/control-test' });
    server = await ControlServer.start(world, { describe: () => ({ world: 'embedded' }) });
  });
  after(async () => {
    await server?.close();
    await world?.stop();
  });

  it('listens on 127.0.0.1 and says which faults the world supports', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const info = await get<{ world: string; faults: { supported: { fault: string }[]; unsupported: { fault: string; reason: string }[] } }>(server.url, '/');
    assert.equal(info.world, 'embedded');
    assert.deepEqual(info.faults.supported.map((f) => f.fault), ['node-kill', 'node-stop', 'rolling-restart']);
    assert.match(info.faults.unsupported.find((f) => f.fault === 'node-pause')!.reason, /--world local/);
  });

  it('refuses bad JSON, unknown faults, unsupported faults and bad targets with 400, applying nothing', async () => {
    const bad = await post(server.url, '{"fault": node-kill');
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /not JSON/);
    const unknown = await post(server.url, JSON.stringify({ fault: 'meteor' }));
    assert.equal(unknown.status, 400);
    assert.match(String(unknown.body.error), /unknown fault; known: node-kill/);
    const pause = await post(server.url, JSON.stringify({ fault: 'node-pause', target: 'node-2', duration: '1s' }));
    assert.equal(pause.status, 400);
    assert.match(String(pause.body.error), /fault \(node-pause\): cannot apply in the embedded world.*--world local/);
    const target = await post(server.url, JSON.stringify({ fault: 'node-kill', target: 'node-7', duration: '1s' }));
    assert.equal(target.status, 400);
    assert.match(String(target.body.error), /node-1..node-2/);
    const share = await post(server.url, JSON.stringify({ fault: 'node-kill', duration: '30%' }));
    assert.match(String(share.body.error), /share of a load/);
    const at = await post(server.url, JSON.stringify({ fault: 'node-kill', at: '5s' }));
    assert.match(String(at.body.error), /at does not apply/);
    assert.equal((await post(server.url, '{}', 'text/plain')).status, 415);
    assert.deepEqual(await get(server.url, '/faults'), []);
    assert.ok(world.embedded!.nodes.every((n) => n.up));
  });

  it('applies a fault at once, reverts it after its duration and lists its mark with both times', async () => {
    const before = Date.now();
    const res = await post(server.url, JSON.stringify({ fault: 'node-kill', target: 'node-2', duration: '300ms' }));
    assert.equal(res.status, 202);
    assert.deepEqual([res.body.kind, res.body.targets], ['node-kill', ['node-2']]);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(world.embedded!.nodes[1]!.up, false, 'node-2 is down during the fault');
    const open = await get<ControlMark[]>(server.url, '/faults');
    assert.equal(open[0]!.endEpochMs, null);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(world.embedded!.nodes[1]!.up, true, 'node-2 is back after the fault');
    const [mark] = await get<ControlMark[]>(server.url, '/faults');
    assert.equal(mark!.id, res.body.id);
    assert.deepEqual([mark!.kind, mark!.target], ['node-kill', 'node-2']);
    assert.ok(Math.abs(mark!.startEpochMs - before) < 1000, `starts at the request (${mark!.startEpochMs - before} ms)`);
    assert.ok(mark!.endEpochMs! - mark!.startEpochMs >= 290, `lasts its duration (${mark!.endEpochMs! - mark!.startEpochMs} ms)`);
    const one = await get<{ done: boolean; marks: ControlMark[] }>(server.url, `/faults/${String(res.body.id)}`);
    assert.equal(one.done, true);
    assert.equal((await fetch(`${server.url}/faults/f999`)).status, 404);
  });
});

describe('Marks of a running cluster on a run clock', () => {
  const m = (startEpochMs: number, endEpochMs: number | null): ControlMark => ({ id: 'f1', kind: 'node-kill', target: 'node-2', startEpochMs, endEpochMs });

  it('keeps the marks overlapping the load, on the run clock, and ends open ones at least with the load', () => {
    const t0 = 1_000_000;
    const marks = [m(t0 - 5000, t0 - 1000), m(t0 + 2000, t0 + 5000), m(t0 - 1000, t0 + 500), m(t0 + 9000, t0 + 9500), m(t0 + 7000, null)];
    assert.deepEqual(marksDuring(marks, t0, 8000, t0 + 8500).map((f) => [f.startMs, f.endMs]), [[2000, 5000], [-1000, 500], [7000, 8500]]);
    assert.deepEqual(marksDuring([m(t0 + 7000, null)], t0, 8000, t0 + 7500).map((f) => f.endMs), [8000]);
  });
});
