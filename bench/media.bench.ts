/**
 * bench:media — the media service's HTTP paths under autocannon, each beside
 * a bare node:http handler answering the same bytes on the same path, in the
 * same run: `npm run bench:media -- [--seconds 9] [--warmup 1] [--connections 50] [--object-bytes 16000]`.
 *
 *   POST /v1/uploads    the upload request for bytes already stored: the
 *                       dedup answer (200 `exists`), with a real session token;
 *   GET  /v1/media/:key a 16 kB object (a voice note's size) from the CDN edge (a cache hit);
 *   GET  /v1/media/:key the same object from the origin (the media service:
 *                       a store lookup and a copy per request);
 *   POST /auth/request  the cluster's sign-in endpoint on a gateway node.
 *
 * The servers are one embedded cluster (one chat node, the media service
 * over its memory object store, one edge) and the bare server, all in this
 * process; autocannon runs in a child process, so load and servers each have
 * a core of their own on a 2-core machine. For each path the service and the
 * bare handler are loaded one after the other (a short unmeasured warm-up,
 * then the measured run), with the same connections and duration.
 * Prints req/s, latency p50/p99 and MB/s for both and their ratio; the last
 * line is `media/http ratio: <r>`: edge-hit download req/s over the bare
 * handler's.
 *
 * The object is small by default because on a 2-core machine large downloads
 * are bound by the load side: with 200 kB objects (`--object-bytes 200000`)
 * autocannon reads ~75 MB/s against either server here, so the ratio then
 * says only that the edge keeps up with that client.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** What one load run asks autocannon for. */
interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  /** Seconds. */
  duration: number;
  /** Requests at most: the run ends at whichever comes first, this or `duration`. */
  maxOverallRequests: number;
}

/** A run's figures (autocannon's latencies are whole milliseconds). */
interface LoadFigures {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  bytesPerSec: number;
  requests: number;
  /** Answers that were not 2xx, errors and timeouts: any of them makes the row suspect. */
  non2xx: number;
  errors: number;
}

/** The parts of autocannon's result this bench reads. */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  throughput: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** The load side: runs each spec it is sent with autocannon and answers with the figures. */
function loadChild(): void {
  const autocannon = createRequire(import.meta.url)('autocannon') as (o: LoadSpec & { timeout: number }) => Promise<AutocannonResult>;
  process.on('message', (spec: LoadSpec) => {
    void autocannon({ ...spec, timeout: 10 }).then(
      (r) => process.send!({
        ok: true,
        figures: {
          reqPerSec: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, bytesPerSec: r.throughput.average,
          requests: r.requests.total, non2xx: r.non2xx, errors: r.errors + r.timeouts,
        } satisfies LoadFigures,
      }),
      (e: Error) => process.send!({ ok: false, message: e.message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '9' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '50' },
      'object-bytes': { type: 'string', default: '16000' },
    },
  });
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  if (!(seconds >= 1 && seconds <= 60)) throw new Error('--seconds must be 1..60');
  if (!(warmup >= 0 && warmup <= 10)) throw new Error('--warmup must be 0..10');
  if (!Number.isInteger(connections) || connections < 1 || connections > 500) throw new Error('--connections must be an integer 1..500');

  // Every run ends by its duration; this is the backstop for one that does not.
  const hardStop = setTimeout(() => {
    console.error('bench:media: overall time limit reached');
    process.exit(2);
  }, (8 * (seconds + warmup) + 120) * 1000);
  hardStop.unref();

  // Loaded here, not at the top: the load child needs none of the cluster.
  const { EmbeddedCluster } = await import('../system/worlds/embedded.ts');
  const { MediaClient } = await import('../system/media/media-client.ts');

  const OBJECT_BYTES = Number(values['object-bytes']);
  if (!(OBJECT_BYTES >= 1 && OBJECT_BYTES <= 50_000_000)) throw new Error('--object-bytes must be 1..50000000');
  /** Far above what autocannon can send: the bench measures sign-in's work, not the 429 answer its default limits would give. */
  const UNLIMITED = 1e12;
  let cluster: Awaited<ReturnType<typeof EmbeddedCluster.start>> | undefined;
  let bare: Server | undefined;
  let load: LoadChild | undefined;
  try {
    cluster = await EmbeddedCluster.start({
      nodes: 1,
      media: { edges: 1 },
      gateway: { authPhonePerMin: UNLIMITED, authPhoneBurst: UNLIMITED, authAddressPerMin: UNLIMITED, authAddressBurst: UNLIMITED },
    });
    const service = cluster.media.endpoints.service;
    const edge = cluster.media.endpoints.edges[0]!;
    const gateway = `http://127.0.0.1:${cluster.nodes[0]!.port}`;
    const token = cluster.issueToken('bench.1');

    // One object, stored through the real upload path; the edge fetches it once and holds it.
    const bytes = randomBytes(OBJECT_BYTES);
    const { media } = await new MediaClient({ service, token }).upload(bytes, 'image/jpeg');
    const mediaPath = `/v1/media/${media.key}`;
    const warm = await fetch(`${edge}${mediaPath}`);
    await warm.arrayBuffer();
    if (warm.headers.get('x-chatlab-cache') !== 'miss') throw new Error('the edge should have fetched the object from the origin once');

    // The answers the bare handler gives: the service's own, byte for byte.
    const uploadRequest = JSON.stringify({ sha256: media.sha256, size: media.size, mime: media.mime });
    const uploadHeaders = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const exists = await fetch(`${service}/v1/uploads`, { method: 'POST', headers: uploadHeaders, body: uploadRequest });
    const existsBody = await exists.text();
    if (exists.status !== 200 || (JSON.parse(existsBody) as { status: string }).status !== 'exists') throw new Error(`the upload request for stored bytes answered ${exists.status} ${existsBody}`);
    const authRequest = JSON.stringify({ phone: '+15550100000' });
    const signIn = await fetch(`${gateway}/auth/request`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: authRequest });
    const signInBody = await signIn.text();
    if (signIn.status !== 200) throw new Error(`/auth/request answered ${signIn.status} ${signInBody}`);

    bare = await bareServer(new Map([
      [`GET ${mediaPath}`, { type: 'image/jpeg', body: bytes }],
      ['POST /v1/uploads', { type: 'application/json', body: Buffer.from(existsBody) }],
      ['POST /auth/request', { type: 'application/json', body: Buffer.from(signInBody) }],
    ]));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    load = await LoadChild.start();

    const cases: { name: string; media: string; path: string; method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }[] = [
      { name: 'POST /v1/uploads (exists)', media: service, path: '/v1/uploads', method: 'POST', headers: uploadHeaders, body: uploadRequest },
      { name: 'GET /v1/media edge (hit)', media: edge, path: mediaPath, method: 'GET' },
      { name: 'GET /v1/media origin', media: service, path: mediaPath, method: 'GET' },
      { name: 'POST /auth/request', media: gateway, path: '/auth/request', method: 'POST', headers: { 'content-type': 'application/json' }, body: authRequest },
    ];
    console.log(`bench:media — ${connections} connections, ${seconds}s per target after a ${warmup}s warm-up, a ${OBJECT_BYTES / 1000} kB object; servers in this process, autocannon in a child; Node ${process.version}`);
    const rows: { name: string; media: LoadFigures; bare: LoadFigures }[] = [];
    for (const c of cases) {
      const run = async (base: string, duration: number) =>
        load!.run({ url: `${base}${c.path}`, method: c.method, headers: c.headers, body: c.body, connections, duration, maxOverallRequests: 2_000_000 });
      const measured: LoadFigures[] = [];
      for (const base of [c.media, bareUrl]) {
        if (warmup > 0) await run(base, warmup);
        measured.push(await run(base, seconds));
      }
      rows.push({ name: c.name, media: measured[0]!, bare: measured[1]! });
      console.error(`  ${c.name}: ${Math.round(measured[0]!.reqPerSec)} vs bare ${Math.round(measured[1]!.reqPerSec)} req/s`);
    }
    const stats = cluster.media.edges[0]!.cache.stats;

    const cell = (f: LoadFigures) =>
      `${String(Math.round(f.reqPerSec)).padStart(8)} ${String(f.p50Ms).padStart(5)} ${String(f.p99Ms).padStart(5)} ${(f.bytesPerSec / 1e6).toFixed(1).padStart(8)}`;
    const head = `${'req/s'.padStart(8)} ${'p50'.padStart(5)} ${'p99'.padStart(5)} ${'MB/s'.padStart(8)}`;
    console.log(`\n${''.padEnd(27)} ${'chatlab (media / gateway)'.padEnd(29)}| ${'bare node:http'.padEnd(29)}| ratio`);
    console.log(`${'endpoint'.padEnd(27)} ${head} | ${head} | req/s`);
    for (const r of rows) console.log(`${r.name.padEnd(27)} ${cell(r.media)} | ${cell(r.bare)} | ${(r.media.reqPerSec / r.bare.reqPerSec).toFixed(2)}`);
    console.log('latencies in ms (autocannon records whole milliseconds)');
    const suspect: string[] = [];
    for (const r of rows) {
      for (const [who, f] of [['media', r.media], ['bare', r.bare]] as const) {
        if (f.non2xx + f.errors > 0) suspect.push(`${r.name} ${who}: ${f.non2xx} non-2xx, ${f.errors} errors`);
      }
    }
    console.log(suspect.length === 0 ? 'every answer 2xx, no errors or timeouts' : `NOT every answer 2xx: ${suspect.join('; ')}`);
    console.log(`edge: ${stats.hits} hits, ${stats.misses} misses (1 expected: the fetch before the runs)`);
    const hit = rows[1]!;
    console.log(`media/http ratio: ${(hit.media.reqPerSec / hit.bare.reqPerSec).toFixed(2)}`);
  } finally {
    load?.stop();
    bare?.closeAllConnections();
    await new Promise<void>((resolve) => (bare ? bare.close(() => resolve()) : resolve()));
    await cluster?.stop();
  }
}

/**
 * The baseline: node:http answering each known `METHOD path` with fixed
 * bytes (after reading the request body, as the service does), and 404
 * otherwise. Nothing else: no auth, no store, no JSON parsing.
 */
async function bareServer(answers: Map<string, { type: string; body: Buffer }>): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const a = answers.get(`${req.method} ${req.url}`);
      if (!a) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** The autocannon child process: one run at a time. */
class LoadChild {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<LoadChild> {
    const child = fork(fileURLToPath(import.meta.url), ['--load-child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return new LoadChild(child);
  }

  run(spec: LoadSpec): Promise<LoadFigures> {
    return new Promise((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`the load child exited with ${code}`));
      this.child.once('exit', exited);
      this.child.once('message', (m: { ok: true; figures: LoadFigures } | { ok: false; message: string }) => {
        this.child.off('exit', exited);
        if (m.ok) resolve(m.figures);
        else reject(new Error(`autocannon: ${m.message}`));
      });
      this.child.send(spec);
    });
  }

  /** The child exits when its channel closes; a signal in case it is stuck. */
  stop(): void {
    if (this.child.connected) this.child.disconnect();
    const child = this.child;
    setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 2000).unref();
  }
}

// Last, so every declaration above is initialised before either side starts.
if (process.argv.includes('--load-child')) loadChild();
else await main();
