/**
 * docker-compose.yml's `deps` service: exits 0 once Redis answers PING and
 * Cassandra answers a CQL query, so the chat nodes start only then (compose's
 * `depends_on: condition: service_completed_successfully`). Cassandra's
 * official image has no health check, and ours has no cqlsh: asking with the
 * node image's own driver works for both. Exits 1 with the last error after
 * CHATLAB_WAIT_TIMEOUT_MS (default 240 s).
 *
 * Env: CHATLAB_REDIS_URL (redis://host:port), CHATLAB_CASSANDRA (host:port), CHATLAB_WAIT_TIMEOUT_MS.
 */
import { connect } from 'node:net';
import { queryReleaseVersion } from './infra/cassandra-server.ts';

const redis = new URL(process.env.CHATLAB_REDIS_URL ?? 'redis://127.0.0.1:6379');
const cassandra = process.env.CHATLAB_CASSANDRA ?? '127.0.0.1:9042';
const deadline = Date.now() + Number(process.env.CHATLAB_WAIT_TIMEOUT_MS ?? 240_000);

function ping(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.setTimeout(2000, () => s.destroy(new Error('PING timed out')));
    s.on('error', reject);
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      s.destroy();
      if (d.toString('utf8').startsWith('+PONG')) resolve();
      else reject(new Error(`PING answered ${d.toString('utf8').trim()}`));
    });
  });
}

async function waitFor(what: string, check: () => Promise<unknown>): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      await check();
      process.stdout.write(`${JSON.stringify({ ready: what, afterMs: Date.now() - started })}\n`);
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        process.stderr.write(`containers-ready: ${what} not ready: ${(err as Error).message}\n`);
        process.exit(1);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

await waitFor(`redis ${redis.host}`, () => ping(redis.hostname, Number(redis.port || 6379)));
await waitFor(`cassandra ${cassandra}`, () => queryReleaseVersion(cassandra));
process.exit(0);
