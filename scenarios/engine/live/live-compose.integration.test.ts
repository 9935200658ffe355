import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runLive } from './live.ts';
import { provisionDocker } from '../../../system/worlds/containers-images.ts';
import { freePorts } from '../../../system/worlds/infra/tcp-ports.ts';
import { PROJECT_ROOT } from '../../../system/worlds/infra/provisioning.ts';

const COMPOSE_FILE = join(PROJECT_ROOT, 'docker-compose.yml');
const HAPROXY_CFG = join(PROJECT_ROOT, 'docker', 'haproxy', 'haproxy.cfg');
const SERVICES = ['cassandra', 'deps', 'haproxy', 'node1', 'node2', 'node3', 'push', 'redis'];
const run = promisify(execFile);

function compose(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync('docker-compose', ['-f', COMPOSE_FILE, ...args], { encoding: 'utf8', env });
}

/**
 * docker-compose.yml as CI checks it (`docker-compose config`), and, since
 * this machine's engine can run it, the whole stack brought up and driven
 * through HAProxy. Needs docker-compose and the local images:
 * scripts/provision-docker.sh provides them, and a failure to is a test
 * failure with its message, never a skip.
 */
describe('docker-compose.yml (HAProxy, 3 nodes, Redis, Cassandra, push)', function () {
  this.timeout(400_000);
  const secret = randomBytes(18).toString('base64url');

  before(function () {
    this.timeout(900_000);
    provisionDocker('provision');
  });

  it('validates with docker-compose config: every service on host networking, the secret required', () => {
    const ok = compose(['config', '-q'], { ...process.env, CHATLAB_SECRET: secret });
    assert.equal(ok.status, 0, ok.stderr);
    const services = compose(['config', '--services'], { ...process.env, CHATLAB_SECRET: secret });
    assert.deepEqual(services.stdout.trim().split('\n').sort(), SERVICES);
    const full = compose(['config'], { ...process.env, CHATLAB_SECRET: secret, CHATLAB_PUBLIC_PORT: '18080' }).stdout;
    assert.equal(full.match(/network_mode: host/g)?.length, SERVICES.length, 'every service uses host networking');
    assert.match(full, /CHATLAB_PUBLIC_PORT: '18080'/, 'ports come from the environment');
    const { CHATLAB_SECRET: _, ...noSecret } = process.env;
    const missing = compose(['config', '-q'], noSecret);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /CHATLAB_SECRET/);
  });

  it('has a valid, WebSocket-aware HAProxy config with health-checked backends', () => {
    const cfg = readFileSync(HAPROXY_CFG, 'utf8');
    assert.match(cfg, /^\s*timeout tunnel\s+\S+/m, 'WebSocket tunnels get their own timeout');
    assert.match(cfg, /option httpchk GET \/health/);
    assert.equal(cfg.match(/^\s*server node-\d .* check$/gm)?.length, 3);
    const env = { ...process.env, CHATLAB_PUBLIC_PORT: '18080', CHATLAB_STATS_PORT: '18404', CHATLAB_NODE1_PORT: '18081', CHATLAB_NODE2_PORT: '18082', CHATLAB_NODE3_PORT: '18083' };
    const check = spawnSync('haproxy', ['-c', '-f', HAPROXY_CFG], { encoding: 'utf8', env });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });

  it('comes up with docker-compose and delivers steady-chat through HAProxy with zero lost', async () => {
    const [pub, stats, n1, n2, n3, push, redis, cql, storage, jmx] = await freePorts(10);
    const project = `chatlabtest${randomBytes(3).toString('hex')}`;
    const env = {
      ...process.env, CHATLAB_SECRET: secret,
      CHATLAB_PUBLIC_PORT: String(pub), CHATLAB_STATS_PORT: String(stats),
      CHATLAB_NODE1_PORT: String(n1), CHATLAB_NODE2_PORT: String(n2), CHATLAB_NODE3_PORT: String(n3),
      CHATLAB_PUSH_PORT: String(push), CHATLAB_REDIS_PORT: String(redis), CHATLAB_CQL_PORT: String(cql),
      CHATLAB_CASSANDRA_STORAGE_PORT: String(storage), CHATLAB_CASSANDRA_JMX_PORT: String(jmx),
    };
    const dc = (...args: string[]) => run('docker-compose', ['-f', COMPOSE_FILE, '-p', project, ...args], { env, maxBuffer: 16 << 20 });
    const t0 = Date.now();
    try {
      await dc('up', '-d');
      const upMs = Date.now() - t0;
      await backendsUp(stats!, 3, 120_000);
      console.log(`      compose stack up in ${upMs} ms, 3 backends UP in HAProxy after ${Date.now() - t0} ms`);
      const outDir = mkdtempSync(join(tmpdir(), 'chatlab-compose-'));
      const { report } = await runLive({
        scenario: 'steady-chat', world: 'embedded', target: `ws://127.0.0.1:${pub}/ws`, secret,
        overrides: { devices: 60, duration: '3s', rate: 60, graceMs: 20_000 }, seed: 13, outDir, progress: false, log: () => {},
      });
      assert.equal(report.world, 'target');
      assert.ok(report.messages.acked > 100, `acked ${report.messages.acked}`);
      assert.equal(report.delivery.lost, 0);
      assert.equal(report.delivery.duplicated, 0);
      assert.equal(report.delivery.delivered, report.delivery.expected);
      // HAProxy spread the devices over the nodes: every backend took connections.
      const rows = await statsRows(stats!);
      for (const n of ['node-1', 'node-2', 'node-3']) assert.ok(Number(rows.get(n)?.stot) > 0, `${n} got no connection through HAProxy`);
    } catch (err) {
      const logs = await dc('logs', '--no-color', '--tail', '15').then((r) => r.stdout, (e: Error) => e.message);
      throw new Error(`${(err as Error).message}\n--- docker-compose logs ---\n${logs}`, { cause: err });
    } finally {
      await dc('down', '-v', '--timeout', '2').catch(() => {});
    }
  });
});

/** HAProxy's stats as CSV rows of backend `nodes`, by server name. */
async function statsRows(port: number): Promise<Map<string, Record<string, string>>> {
  const res = await fetch(`http://127.0.0.1:${port}/stats;csv`);
  const [head, ...lines] = (await res.text()).trim().split('\n');
  const cols = head!.replace(/^# /, '').split(',');
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines) {
    const row = Object.fromEntries(line.split(',').map((v, i) => [cols[i]!, v]));
    if (row.pxname === 'nodes') rows.set(row.svname!, row);
  }
  return rows;
}

async function backendsUp(statsPort: number, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const rows = await statsRows(statsPort);
      const up = [...rows.values()].filter((r) => r.svname !== 'BACKEND' && r.status === 'UP').length;
      if (up >= count) return;
      last = [...rows.values()].map((r) => `${r.svname}=${r.status}`).join(' ');
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`HAProxy did not report ${count} backends UP within ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
