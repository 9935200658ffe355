import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { GenericContainer, StartedTestContainer } from 'testcontainers';
import { containerImages, isLocalImage, provisionDocker, type ContainerImages } from './containers-images.ts';
import { queryReleaseVersion } from './infra/cassandra-server.ts';
import { coturnArgs, freeUdpPort, relayRange, stunBinding } from './infra/coturn-server.ts';
import { seaweedArgs, waitForS3Write } from './infra/seaweedfs-server.ts';
import { freePorts, LOOPBACK } from './infra/tcp-ports.ts';
import { cqlProbe, httpProbe, redisProbe, Watchdog } from './infra/watchdog.ts';
import { bindNodeControls, type WorldControls } from './world.ts';

export interface ContainersWorldOptions {
  nodes: number;
  /** Container logs (one file per container, appended across restarts) go here. */
  dir: string;
  /** Image names; default from CHATLAB_*_IMAGE or the project's local images (containers-images.ts). */
  images?: Partial<ContainerImages>;
  /** Use a Redis the user already runs instead of starting a container. */
  redisUrl?: string;
  /** Use a Cassandra the user already runs (host:port) instead of starting a container. */
  cassandra?: string;
  /** Keyspace; a fresh one per run by default so runs never see each other's data. */
  keyspace?: string;
  /** Cassandra container heap (MAX_HEAP_SIZE), MB. Default 1024. */
  cassandraHeapMb?: number;
  /** Readiness deadlines, ms: Cassandra (CQL answering) and each node ("ready" line + /health). Defaults 180 s, 120 s. */
  cassandraReadyTimeoutMs?: number;
  nodeReadyTimeoutMs?: number;
  /** Start the media service (in the node image) and its object store (SeaweedFS), as the local world does. Off by default. */
  media?: boolean;
  /** Start a TURN relay for calls (coturn, configured as the local world's), its URLs and secret handed to every node. Off by default. */
  turn?: boolean;
  /** How long a call rings on the nodes (CHATLAB_CALL_RING_MS), ms; default the node's. */
  callRingMs?: number;
}

interface NodeContainer {
  id: string;
  number: number;
  port: number;
  url: string;
  container?: StartedTestContainer;
  up: boolean;
}

type Testcontainers = typeof import('testcontainers');

/** A health check for a service without /health: its port accepts a connection. */
const TCP_CHECK = "require('net').connect(Number(process.argv[1]), '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))";

/**
 * The containers world: Redis, Cassandra, the push service and N chat nodes,
 * each in its own container started by Testcontainers, with host networking
 * (every service on its own free loopback port, as in the local world) and
 * real readiness waits: a log line, then a real request (PING, a CQL query,
 * GET /health). Wiring is the same as the local world's; only the launcher
 * differs. Containers carry the labels org.chatlab.world and org.chatlab.pid,
 * so a crashed run's leftovers are removed by the next start (Ryuk, which
 * would do that, needs a registry and is off here).
 */
export class ContainersWorld {
  readonly nodes: NodeContainer[] = [];
  readonly secret = randomBytes(24).toString('base64url');
  readonly runId = randomBytes(3).toString('hex');
  readonly images: ContainerImages;
  /** How long each part took to become ready, ms (what a slow start is made of). */
  readonly timings: Record<string, number> = {};
  /**
   * Notices a node, Redis or Cassandra container that stops answering
   * without this world's own controls having done it (`docker kill` or
   * `docker pause` from outside, the OOM killer): observed faults. A
   * container that exited no longer answers its probe, so it shows as
   * `unresponsive` with the probe's failure as detail.
   */
  readonly watchdog = new Watchdog();
  pushUrl = '';
  /** The media service and its edges, when started with `media`. */
  media?: { service: string; edges: string[] };
  /** The TURN relay's URLs and secret, when started with `turn`. */
  turn?: { urls: string[]; secret: string };
  redisUrl = '';
  cassandra = '';
  keyspace = '';
  private tc!: Testcontainers;
  private readonly infra: StartedTestContainer[] = [];
  private push?: StartedTestContainer;
  /** Ids of containers still running, removed synchronously if this process exits or is interrupted first. */
  private readonly running = new Set<string>();
  private readonly onExit = () => this.removeNow();
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.removeNow();
    // Alone on this signal: die by it, as without a handler. (A `once` listener is gone by now.)
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };

  private constructor(readonly opts: ContainersWorldOptions) {
    this.images = containerImages(process.env, opts.images);
  }

  static async start(opts: ContainersWorldOptions): Promise<ContainersWorld> {
    const w = new ContainersWorld(opts);
    try {
      await w.boot();
      return w;
    } catch (err) {
      await w.stop();
      throw err;
    }
  }

  private async boot(): Promise<void> {
    const o = this.opts;
    const t0 = Date.now();
    mkdirSync(o.dir, { recursive: true });
    process.on('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    const used = [
      this.images.node, ...(o.redisUrl ? [] : [this.images.redis]), ...(o.cassandra ? [] : [this.images.cassandra]),
      ...(o.media ? [this.images.seaweedfs] : []), ...(o.turn ? [this.images.coturn] : []),
    ];
    if (used.some(isLocalImage)) provisionDocker('check');
    this.tc = await loadTestcontainers();
    await this.removeLeftovers();
    const [redisPort, cqlPort, storagePort, jmxPort, pushPort] = await freePorts(5);
    this.keyspace = o.keyspace ?? `run_${randomBytes(4).toString('hex')}`;
    const timed = async (name: string, start: () => Promise<void>) => {
      const t = Date.now();
      await start();
      this.timings[name] = Date.now() - t;
    };
    this.timings.check = Date.now() - t0;
    await Promise.all([
      o.redisUrl ? (this.redisUrl = o.redisUrl) : timed('redis', () => this.startRedis(redisPort!)),
      o.cassandra ? (this.cassandra = o.cassandra) : timed('cassandra', () => this.startCassandra(cqlPort!, storagePort!, jmxPort!)),
      timed('push', () => this.startPush(pushPort!)),
      o.media ? timed('media', () => this.startMedia()) : undefined,
      o.turn ? timed('turn', () => this.startTurn()) : undefined,
    ]);
    const ports = await freePorts(o.nodes);
    // The first node creates the keyspace and applies migrations; the others then start together.
    await timed('firstNode', async () => void this.nodes.push(await this.startNode(0, ports[0]!)));
    await timed('otherNodes', async () => void this.nodes.push(...(await Promise.all(ports.slice(1).map((p, i) => this.startNode(i + 1, p))))));
    this.timings.total = Date.now() - t0;
    this.watch();
  }

  /** Every node, and Redis and Cassandra (started here or not), probed every 500 ms on their loopback ports. */
  private watch(): void {
    const w = this.watchdog;
    this.nodes.forEach((n, i) => w.add({ name: n.id, running: () => true, probe: () => httpProbe(`http://${LOOPBACK}:${this.nodes[i]!.port}/health`) }));
    w.add({ name: 'redis', running: () => true, probe: () => redisProbe(Number(new URL(this.redisUrl).port)) });
    w.add({ name: 'cassandra', running: () => true, probe: () => cqlProbe(Number(this.cassandra.split(':').at(-1))) });
    w.start();
  }

  private container(image: string, name: string): GenericContainer {
    const c = new this.tc.GenericContainer(image)
      .withName(`chatlab-${this.runId}-${name}`)
      .withNetworkMode('host')
      .withLabels({ 'org.chatlab.world': this.runId, 'org.chatlab.pid': String(process.pid), 'org.chatlab.role': name })
      .withLogConsumer((stream) => stream.pipe(createWriteStream(this.logFile(name), { flags: 'a' })));
    return isLocalImage(image) ? c.withPullPolicy({ shouldPull: () => false }) : c;
  }

  private logFile(name: string): string {
    return join(this.opts.dir, `${name}.log`);
  }

  /** Starts a container, and on failure says which and shows the end of its log. */
  private async launch(name: string, c: GenericContainer): Promise<StartedTestContainer> {
    try {
      const started = await c.start();
      this.running.add(started.getId());
      return started;
    } catch (err) {
      await sleep(200); // let the log consumer flush
      throw new Error(`${name} container did not become ready: ${(err as Error).message}\n${this.tail(name)}`, { cause: err });
    }
  }

  private tail(name: string, lines = 20): string {
    const f = this.logFile(name);
    return existsSync(f) ? `last lines of ${f}:\n${readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n')}` : `(no log at ${f})`;
  }

  private async startRedis(port: number): Promise<void> {
    const { Wait } = this.tc;
    const c = this.container(this.images.redis, 'redis')
      .withCommand(['redis-server', '--port', String(port), '--bind', LOOPBACK, '--protected-mode', 'yes', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'])
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .withStartupTimeout(30_000);
    this.infra.push(await this.launch('redis', c));
    await until(() => redisPing(port), 10_000, `redis on ${port} answers PING`);
    this.redisUrl = `redis://${LOOPBACK}:${port}`;
  }

  private async startCassandra(cqlPort: number, storagePort: number, jmxPort: number): Promise<void> {
    const { Wait } = this.tc;
    const timeoutMs = this.opts.cassandraReadyTimeoutMs ?? 180_000;
    const started = Date.now();
    const c = this.container(this.images.cassandra, 'cassandra')
      .withEnvironment({
        MAX_HEAP_SIZE: `${this.opts.cassandraHeapMb ?? 1024}M`,
        HEAP_NEWSIZE: '200M',
        JVM_EXTRA_OPTS: `-Dcassandra.native_transport_port=${cqlPort} -Dcassandra.storage_port=${storagePort} -Dcassandra.jmx.local.port=${jmxPort}`,
        // The official image writes these into its cassandra.yaml; ours has them fixed to 127.0.0.1.
        CASSANDRA_LISTEN_ADDRESS: LOOPBACK,
        CASSANDRA_BROADCAST_ADDRESS: LOOPBACK,
        CASSANDRA_RPC_ADDRESS: LOOPBACK,
        CASSANDRA_SEEDS: LOOPBACK,
      })
      .withWaitStrategy(Wait.forLogMessage('Starting listening for CQL clients'))
      .withStartupTimeout(timeoutMs);
    this.infra.push(await this.launch('cassandra', c));
    const contactPoint = `${LOOPBACK}:${cqlPort}`;
    await until(() => queryReleaseVersion(contactPoint).then(() => true), Math.max(10_000, timeoutMs - (Date.now() - started)), `Cassandra on ${contactPoint} answers CQL`);
    this.cassandra = contactPoint;
  }

  private async startPush(port: number): Promise<void> {
    const { Wait } = this.tc;
    const c = this.container(this.images.node, 'push')
      .withCommand(['system/push/push-process.ts'])
      .withEnvironment({ CHATLAB_PUSH_PORT: String(port), CHATLAB_HOST: LOOPBACK })
      // The image's check asks a chat node's /health; the push service is checked by its port.
      .withHealthCheck({ test: ['CMD', 'node', '-e', TCP_CHECK, String(port)], interval: 5000, timeout: 3000, retries: 3 })
      .withWaitStrategy(Wait.forLogMessage('"ready":true'))
      .withStartupTimeout(60_000);
    this.push = await this.launch('push', c);
    this.pushUrl = `http://${LOOPBACK}:${port}`;
  }

  /** SeaweedFS, ready once an S3 write succeeds, then the media process over it (the node image, like push). */
  private async startMedia(): Promise<void> {
    const { Wait } = this.tc;
    const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = await freePorts(8);
    const store = this.container(this.images.seaweedfs, 'seaweedfs')
      .withCommand(seaweedArgs('/data', '/tmp', { master: master!, masterGrpc: masterGrpc!, volume: volume!, volumeGrpc: volumeGrpc!, filer: filer!, filerGrpc: filerGrpc!, s3: s3!, s3Grpc: s3Grpc! }))
      .withEnvironment({ WEED_MASTER_VOLUME_GROWTH_COPY_1: '1' })
      .withStartupTimeout(60_000);
    this.infra.push(await this.launch('seaweedfs', store));
    const s3Url = `http://${LOOPBACK}:${s3}`;
    await waitForS3Write(s3Url, () => true, () => this.tail('seaweedfs'), 60_000);
    const port = (await freePorts(1))[0]!;
    const c = this.container(this.images.node, 'media')
      .withCommand(['system/media/media-process.ts'])
      .withEnvironment({ CHATLAB_MEDIA_PORT: String(port), CHATLAB_HOST: LOOPBACK, CHATLAB_SECRET: this.secret, CHATLAB_MEDIA_S3: s3Url })
      .withHealthCheck({ test: ['CMD', 'node', '-e', TCP_CHECK, String(port)], interval: 5000, timeout: 3000, retries: 3 })
      .withWaitStrategy(Wait.forLogMessage('"ready":true'))
      .withStartupTimeout(60_000);
    this.infra.push(await this.launch('media', c));
    await sleep(200); // the log consumer writes the ready line to the file
    const line = readFileSync(this.logFile('media'), 'utf8').split('\n').find((l) => l.startsWith('{"ready":true'));
    if (!line) throw new Error(`media container printed no ready line\n${this.tail('media')}`);
    const ready = JSON.parse(line) as { url: string; edges: string[] };
    this.media = { service: ready.url, edges: ready.edges };
  }

  /** coturn on a free loopback UDP port with a relay range of its own, ready once it answers a STUN Binding request. */
  private async startTurn(): Promise<void> {
    const port = await freeUdpPort();
    const secret = randomBytes(24).toString('base64url');
    const c = this.container(this.images.coturn, 'coturn')
      .withCommand(coturnArgs({ port, ...relayRange(), realm: 'chatlab', secret }))
      .withStartupTimeout(30_000);
    this.infra.push(await this.launch('coturn', c));
    await until(() => stunBinding(port, 200).then(() => true), 10_000, `coturn on udp ${port} answers STUN`);
    this.turn = { urls: [`turn:${LOOPBACK}:${port}?transport=udp`], secret };
  }

  private async startNode(index: number, port: number): Promise<NodeContainer> {
    const { Wait } = this.tc;
    const id = `node-${index + 1}`;
    const timeoutMs = this.opts.nodeReadyTimeoutMs ?? 120_000;
    const c = this.container(this.images.node, id)
      // A restarted node gets a fresh container under a fresh name: the killed one may still be going away.
      .withName(`chatlab-${this.runId}-${id}-${randomBytes(2).toString('hex')}`)
      .withEnvironment({
        CHATLAB_NODE_ID: id, CHATLAB_NODE_NUMBER: String(index + 1), CHATLAB_PORT: String(port), CHATLAB_HOST: LOOPBACK,
        CHATLAB_REDIS_URL: this.redisUrl, CHATLAB_CASSANDRA: this.cassandra, CHATLAB_KEYSPACE: this.keyspace,
        CHATLAB_PUSH_URL: this.pushUrl, CHATLAB_SECRET: this.secret,
        ...(this.turn ? { CHATLAB_TURN_SECRET: this.turn.secret, CHATLAB_TURN_URLS: this.turn.urls.join(',') } : {}),
        ...(this.opts.callRingMs ? { CHATLAB_CALL_RING_MS: String(this.opts.callRingMs) } : {}),
      })
      .withWaitStrategy(Wait.forLogMessage('"ready":true'))
      .withStartupTimeout(timeoutMs);
    const container = await this.launch(id, c);
    await until(() => healthy(port), 10_000, `${id} answers GET /health on ${port}`);
    return { id, number: index + 1, port, url: `ws://${LOOPBACK}:${port}/ws`, container, up: true };
  }

  /**
   * Where a load driver in a container reaches the nodes: the Docker network
   * the node containers are on (`host`: this world runs every container with
   * host networking), and each node's container name with the address that
   * name stands for on that network and its port. On the host network a
   * container name resolves nowhere by itself: a driver container is given
   * each name as a host entry (`--add-host name:address`;
   * containers-driver.ts does it), so its `--target` names the nodes as
   * in-network names, not loopback addresses.
   */
  driverEndpoints(): { network: string; nodes: { id: string; name: string; address: string; port: number }[] } {
    return {
      network: 'host',
      nodes: this.nodes.map((n) => {
        if (!n.container) throw new Error(`${n.id} is not running: no endpoint to give a driver`);
        return { id: n.id, name: n.container.getName().replace(/^\//, ''), address: LOOPBACK, port: n.port };
      }),
    };
  }

  /** `docker kill` (SIGKILL): a crash. Its registry entries expire with its heartbeat; its devices reconnect elsewhere. */
  async killNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    this.watchdog.quiet(n.id, true);
    n.up = false;
    const container = n.container;
    n.container = undefined;
    if (!container) return;
    const client = await this.tc.getContainerRuntimeClient();
    const c = client.container.getById(container.getId());
    await c.kill({ signal: 'SIGKILL' }).catch(() => {});
    await c.remove({ force: true }).catch(() => {});
    this.running.delete(container.getId());
  }

  /** `docker stop`: SIGTERM (the node drains, devices are told to go), SIGKILL after 15 s. */
  async stopNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    this.watchdog.quiet(n.id, true);
    n.up = false;
    const container = n.container;
    n.container = undefined;
    if (!container) return;
    await container.stop({ timeout: 15_000 });
    this.running.delete(container.getId());
  }

  /** A new container for node i on the same port (a killed container is gone; a running one is stopped first). */
  async restartNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    if (n.container) await this.stopNode(i);
    this.nodes[i] = await this.startNode(i, n.port);
    this.watchdog.quiet(n.id, false);
  }

  /** `docker pause` (cgroup freezer): the node stops answering but keeps its sockets. */
  async pauseNode(i: number): Promise<void> {
    this.watchdog.quiet(this.nodes[i]!.id, true);
    const id = this.nodes[i]!.container?.getId();
    if (id) await (await this.tc.getContainerRuntimeClient()).container.getById(id).pause();
  }

  async resumeNode(i: number): Promise<void> {
    const id = this.nodes[i]!.container?.getId();
    if (id) await (await this.tc.getContainerRuntimeClient()).container.getById(id).unpause();
    this.watchdog.quiet(this.nodes[i]!.id, false);
  }

  /** The chaos controls this world offers, bound to it: the node controls (the stores' containers are not offered). */
  controls(): WorldControls {
    return bindNodeControls(this);
  }

  /** Stops and removes every container it started: nodes gracefully (10 s), the rest at once (their data is thrown away). */
  async stop(): Promise<void> {
    this.watchdog.stop();
    await Promise.allSettled(this.nodes.map(async (n) => {
      if (!n.container) return;
      await (await this.tc.getContainerRuntimeClient()).container.getById(n.container.getId()).unpause().catch(() => {});
      await n.container.stop({ timeout: 10_000 });
      this.running.delete(n.container.getId());
    }));
    await Promise.allSettled([this.push, ...this.infra].map(async (c) => {
      if (!c) return;
      await c.stop({ timeout: 0 });
      this.running.delete(c.getId());
    }));
    this.removeNow(); // anything a failed stop left
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }

  /** `docker rm -f` of every container still running, synchronously: usable from an 'exit' handler. */
  private removeNow(): void {
    if (this.running.size === 0) return;
    spawnSync('docker', ['rm', '-f', ...this.running], { stdio: 'ignore', timeout: 60_000 });
    this.running.clear();
  }

  /** Containers left by a chatlab process that no longer exists (a crash, Ctrl-C twice). */
  private async removeLeftovers(): Promise<void> {
    const client = await this.tc.getContainerRuntimeClient();
    const all = await client.container.dockerode.listContainers({ all: true, filters: { label: ['org.chatlab.pid'] } });
    await Promise.allSettled(all
      .filter((c) => !isAlive(Number(c.Labels['org.chatlab.pid'])))
      .map((c) => client.container.getById(c.Id).remove({ force: true })));
  }
}

/**
 * Testcontainers, loaded on first use (the other worlds never pay for it),
 * with this machine's settings unless the user set them: no Ryuk (its image
 * would have to be pulled) and the engine's host is loopback (with
 * `--bridge=none` there is no bridge network to find it through).
 */
async function loadTestcontainers(): Promise<Testcontainers> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= LOOPBACK;
  return import('testcontainers');
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${last ? ` (last: ${last})` : ''}`);
    await sleep(200);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** GET /health answers 200. */
function healthy(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LOOPBACK, port, path: '/health', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('GET /health timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** PING answered with +PONG. */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: LOOPBACK, port });
    let data = '';
    s.setTimeout(2000, () => s.destroy(new Error('PING timed out')));
    s.on('error', reject);
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      data += d.toString('utf8');
      if (data.includes('\r\n')) {
        s.destroy();
        resolve(data.startsWith('+PONG'));
      }
    });
  });
}
