import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Paths } from '../../../reports/ledger.ts';
import type { Report } from '../../../reports/report.ts';
import { steadyChat } from '../../builtin/steady-chat.ts';
import { Population } from '../../population.ts';
import { cellFromEnv, cellMembers, cellSeed, GHOST, OWN, parseCell, runCells } from './cells.ts';
import { runSim } from './sim.ts';
import { defaultCalibration } from '../../../system/worlds/sim/calibration.ts';

/** Steady-chat, small: 2,000 devices, 10 s of load at the scenario's 400 msgs/s. */
const SEED = 7;
/**
 * The default calibration without its driver model: with one, a single run
 * of this size prewarms the devices' sessions and a cell does not (runSim),
 * so the two would differ by the handshakes, not by the split.
 */
const { driver: _driver, ...withoutDriver } = defaultCalibration;
const CALIBRATION = join(mkdtempSync(join(tmpdir(), 'chatlab-cells-cal-')), 'calibration.json');
writeFileSync(CALIBRATION, JSON.stringify(withoutDriver));
const overrides = { devices: 2000, duration: '10s' };
const args = ['--seed', String(SEED), '--devices', '2000', '--duration', '10s', '--no-progress', '--calibration', CALIBRATION];

/**
 * The split changes every random stream (arrivals, senders, recipients,
 * link draws), so one cell and two agree within tolerances, not exactly:
 * the owed deliveries within 5% (the message count is the rate's, the
 * recipients per message a draw), and each path's e2e p50 and p99 within
 * 25% on paths with at least MIN_SAMPLES deliveries in both runs (the p99
 * on those with at least MIN_P99_SAMPLES).
 */
const COUNT_TOLERANCE = 0.05;
const LATENCY_TOLERANCE = 0.25;
const MIN_SAMPLES = 300;
/** The p99 only on paths with at least this many deliveries in both runs. */
const MIN_P99_SAMPLES = 2000;

function within(a: number, b: number, tolerance: number): boolean {
  return Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b));
}

describe('Sim cells (--cells)', function () {
  this.timeout(120_000);

  it('splits users by u % n with all their devices; ghosts are the other cells\' users the cell can address', () => {
    const scenario = { ...steadyChat, population: { devices: 300, devicesPerUser: 2 } };
    const p = new Population(scenario, 3, 't');
    const cells = [0, 1, 2].map((index) => cellMembers(p, scenario, { index, count: 3 }));
    for (let d = 0; d < p.devices; d++) {
      const owners = cells.filter((m) => m[d] === OWN).length;
      assert.equal(owners, 1, `device ${d} is played by exactly one cell`);
      assert.equal(cells[p.userOf(d) % 3]![d], OWN);
    }
    for (let u = 0; u < p.users; u++) {
      const mine = cells[u % 3]!;
      for (const c of p.contactsOf(u)) if (c % 3 !== u % 3) assert.equal(mine[p.firstDevice(c)], GHOST, `contact ${c} of ${u}`);
      for (const g of p.groupsOf(u)) for (const v of p.group(g)!.members) assert.notEqual(mine[p.firstDevice(v)], 0, `member ${v} of ${g}`);
    }
  });

  it('names cells, reads them from an Indexed Job\'s environment, and derives a seed per cell', () => {
    assert.deepEqual(parseCell('1/4'), { index: 1, count: 4 });
    assert.throws(() => parseCell('4/4'), /below n/);
    assert.deepEqual(cellFromEnv({ JOB_COMPLETION_INDEX: '2', CHATLAB_CELLS: '3' }), { index: 2, count: 3 });
    assert.equal(cellFromEnv({ JOB_COMPLETION_INDEX: '2' }), undefined);
    assert.throws(() => cellFromEnv({ CHATLAB_CELLS: '3' }), /JOB_COMPLETION_INDEX/);
    assert.equal(cellSeed(9, { index: 0, count: 1 }), 9);
    assert.notEqual(cellSeed(9, { index: 0, count: 2 }), cellSeed(9, { index: 1, count: 2 }));
  });

  it('one cell and two cells (two processes, merged) agree: nothing lost, owed deliveries within 5%, per-path e2e within 25%', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatlab-cells-'));
    const [one, two] = await Promise.all([
      runSim({ scenario: 'steady-chat', overrides, seed: SEED, calibration: CALIBRATION, progress: false, log: () => {} }).then((r) => r.report),
      runCells({ scenario: 'steady-chat', args, count: 2, parallel: 2, outDir: join(dir, 'two'), log: () => {} }).then((r) => {
        assert.equal(r.orphans.count, 0, 'every delivery is of a message some cell sent');
        return r.report;
      }),
    ]);
    assert.ok(existsSync(join(dir, 'two', 'report.json')) && existsSync(join(dir, 'two', 'cell-1', 'shard.json')));

    for (const r of [one, two]) {
      assert.equal(r.delivery.lost, 0);
      assert.equal(r.delivery.duplicated, 0);
      assert.equal(r.delivery.unexpected, 0);
      assert.equal(r.delivery.delivered, r.delivery.expected, 'every owed delivery made');
      assert.equal(r.messages.acked, r.messages.sent);
    }
    const cells = (two.meta.cells as { count: number; cells: { index: number; wallMs: number; events: number; devices: number; ghosts: number }[] });
    assert.equal(cells.count, 2);
    assert.deepEqual(cells.cells.map((c) => c.index), [0, 1]);
    assert.equal(cells.cells.reduce((n, c) => n + c.devices, 0), 2000, 'the cells play every device once');
    for (const c of cells.cells) assert.ok(c.wallMs > 0 && c.events > 0 && c.ghosts > 0, JSON.stringify(c));
    // The same load: every cell has its share of the arrivals.
    assert.ok(within(one.messages.sent, two.messages.sent, 0.02), `sent ${one.messages.sent} vs ${two.messages.sent}`);
    assert.ok(within(one.delivery.expected, two.delivery.expected, COUNT_TOLERANCE), `expected ${one.delivery.expected} vs ${two.delivery.expected}`);

    const compared: string[] = [];
    for (const path of Paths) {
      const a = one.paths[path];
      const b = two.paths[path];
      if (!a || !b || a.e2eMs.count < MIN_SAMPLES || b.e2eMs.count < MIN_SAMPLES) continue;
      compared.push(path);
      // A p99 of a thousand deliveries is its ten largest: group-write (~1,000) read 66 ms in one run and 26 in the other.
      for (const q of a.e2eMs.count >= MIN_P99_SAMPLES && b.e2eMs.count >= MIN_P99_SAMPLES ? ['p50', 'p99'] as const : ['p50'] as const) {
        assert.ok(within(a.e2eMs[q], b.e2eMs[q], LATENCY_TOLERANCE), `${path} e2e ${q}: one cell ${a.e2eMs[q]} ms, two cells ${b.e2eMs[q]} ms`);
      }
    }
    assert.ok(compared.includes('direct') && compared.includes('cross-node'), `paths compared: ${compared.join(', ')}`);
    assert.ok(one.paths['cross-node']!.e2eMs.count >= MIN_P99_SAMPLES, 'the cross-node path\'s p99 is compared');
    process.stderr.write(`      ${summary('one cell', one)}\n      ${summary('two cells', two)}\n`);
  });
});

/** The figures the comparison rests on, for the test's log. */
function summary(name: string, r: Report): string {
  const paths = Paths.filter((p) => (r.paths[p]?.e2eMs.count ?? 0) > 0)
    .map((p) => `${p} n=${r.paths[p]!.e2eMs.count} p50=${r.paths[p]!.e2eMs.p50} p99=${r.paths[p]!.e2eMs.p99}`);
  return `${name}: sent ${r.messages.sent}, expected ${r.delivery.expected}, delivered ${r.delivery.delivered}, lost ${r.delivery.lost}; ${paths.join('; ')}`;
}
