/**
 * One chat node as its own OS process: the node core and its gateway over
 * real Redis, Cassandra and the push service. Used by the local world, the
 * node container image and docker-compose.
 *
 * Configuration from the environment (all required unless a default is shown):
 *   CHATLAB_NODE_ID, CHATLAB_NODE_NUMBER, CHATLAB_PORT (0 = free port), CHATLAB_HOST (127.0.0.1),
 *   CHATLAB_REDIS_URL (`redis://host:port`, or `redis-cluster://host:port,host:port,…`: a Redis Cluster's seed nodes),
 *   CHATLAB_CASSANDRA (host:port[,host:port]), CHATLAB_KEYSPACE (chatlab),
 *   CHATLAB_PUSH_URL, CHATLAB_SECRET,
 *   CHATLAB_CASSANDRA_ADDRESS_MAP (optional, `host:port=host:port,…`: announced Cassandra addresses → proxies),
 *   CHATLAB_CASSANDRA_REPLICATION_FACTOR (optional, default 1: the replication factor of a keyspace the node creates;
 *     above 1, NetworkTopologyStrategy in datacenter1), CHATLAB_CASSANDRA_CONSISTENCY (optional, `one` or
 *     `local_quorum`; default chosen from the number of Cassandra nodes seen at connect time),
 *   CHATLAB_FRAME_TAP (optional, a folder: the wire tap, every frame in and out appended to
 *     `<folder>/<node id>.frames.jsonl`; a test and debugging aid, off by default; see gateway/frame-tap.ts)
 *   CHATLAB_TURN_SECRET, CHATLAB_TURN_URLS (optional, together: the TURN relays handed to devices in calls,
 *     the secret shared with them and their comma-separated `turn:` URLs), CHATLAB_TURN_TTL_S (600)
 *   CHATLAB_CALL_RING_MS (optional: how long a call rings, ms; the node's default 45,000)
 * Prints one JSON line `{"ready":true,"id":…,"url":…,"port":…,"cassandraConsistency":…}` when listening.
 * SIGTERM: graceful stop (devices told to go with 1001). SIGUSR2, when run with
 * --expose-gc: a full garbage collection (benchmarks read RSS after it).
 */
import { AuthService } from '../auth/auth-service.ts';
import { TokenIssuer } from '../auth/tokens.ts';
import { WallClock } from '../clock/clock-wall.ts';
import { Gateway } from '../gateway/gateway.ts';
import { ChatNode } from '../node/chat-node.ts';
import { SeededRandom } from '../random/random.ts';
import { parseAddressMap } from '../drivers/cassandra-client.ts';
import { turnConfigFromEnv, type TurnConfig } from '../calls/turn-credentials.ts';
import { realPorts } from './real-ports.ts';

function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    process.stderr.write(`node-process: missing ${name}\n`);
    process.exit(2);
  }
  return v;
}

/** The TURN relays of the environment (see turnConfigFromEnv); a bad setting stops the process, naming it. */
function turnFromEnv(): TurnConfig | undefined {
  try {
    return turnConfigFromEnv(process.env);
  } catch (err) {
    process.stderr.write(`node-process: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

const id = env('CHATLAB_NODE_ID');
const turn = turnFromEnv();
const number = Number(env('CHATLAB_NODE_NUMBER'));
const clock = new WallClock();
const random = new SeededRandom(number);
const replicationFactor = process.env.CHATLAB_CASSANDRA_REPLICATION_FACTOR ? Number(process.env.CHATLAB_CASSANDRA_REPLICATION_FACTOR) : undefined;
if (replicationFactor !== undefined && !(Number.isSafeInteger(replicationFactor) && replicationFactor > 0)) {
  process.stderr.write('node-process: CHATLAB_CASSANDRA_REPLICATION_FACTOR must be a positive integer\n');
  process.exit(2);
}
const consistency = process.env.CHATLAB_CASSANDRA_CONSISTENCY || undefined;
if (consistency !== undefined && consistency !== 'one' && consistency !== 'local_quorum') {
  process.stderr.write('node-process: CHATLAB_CASSANDRA_CONSISTENCY must be one or local_quorum\n');
  process.exit(2);
}
const { ports, close, cassandraConsistency } = await realPorts(clock, random, {
  redisUrl: env('CHATLAB_REDIS_URL'),
  cassandra: env('CHATLAB_CASSANDRA').split(','),
  keyspace: env('CHATLAB_KEYSPACE', 'chatlab'),
  cassandraAddressMap: parseAddressMap(process.env.CHATLAB_CASSANDRA_ADDRESS_MAP),
  cassandraReplicationFactor: replicationFactor,
  cassandraConsistency: consistency,
  pushUrl: env('CHATLAB_PUSH_URL'),
  name: id,
});
const tokens = new TokenIssuer(env('CHATLAB_SECRET'), clock);
const auth = new AuthService(ports.accounts, tokens, clock, random.fork('auth'));
const gateway = new Gateway({
  host: env('CHATLAB_HOST', '127.0.0.1'), port: Number(env('CHATLAB_PORT', '0')),
  ...(process.env.CHATLAB_FRAME_TAP ? { frameTapDir: process.env.CHATLAB_FRAME_TAP } : {}),
}, auth);
const ringMs = process.env.CHATLAB_CALL_RING_MS ? Number(process.env.CHATLAB_CALL_RING_MS) : undefined;
if (ringMs !== undefined && !(Number.isSafeInteger(ringMs) && ringMs > 0)) {
  process.stderr.write('node-process: CHATLAB_CALL_RING_MS must be a positive integer (ms)\n');
  process.exit(2);
}
const node = new ChatNode({ nodeId: id, nodeNumber: number, ...(turn ? { turn } : {}), ...(ringMs ? { callRingMs: ringMs } : {}) }, ports, tokens, gateway);
await node.start();
await gateway.listen(node);
process.stdout.write(`${JSON.stringify({ ready: true, id, url: gateway.url, port: gateway.port, cassandraConsistency })}\n`);

// One status line every 10 s in the node's log: what an operator tails during a drill.
setInterval(() => {
  const m = node.metrics;
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), connections: m.connections, acked: m.messagesAcked, delivered: m.deliveriesAcked, drains: m.drains, redrains: Object.fromEntries(m.redrains), drainFailures: m.drainFailures, idleCloses: m.idleCloses, inFlight: m.inFlight, loopMs: +m.eventLoopDelayMs.toFixed(1), rejections: Object.fromEntries(m.rejections) })}\n`);
}, 10_000).unref();

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await gateway.stop().catch(() => {});
  await close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
// Started with --expose-gc (benchmarks that read RSS), SIGUSR2 asks for a full collection first.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) process.on('SIGUSR2', () => gc());
process.on('SIGINT', () => void stop());
