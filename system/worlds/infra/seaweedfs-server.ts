import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePorts, LOOPBACK } from './tcp-ports.ts';
import { isTerminating, ManagedProcess, type StartedServer } from './processes.ts';
import { requireProvisioned, SEAWEED_BIN } from './provisioning.ts';

export interface SeaweedOptions {
  /** Data and log folder; created if missing. The log is `<dir>/weed.log`, the data `<dir>/data`. */
  dir: string;
  /** S3 port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** Default `.cache/bin/weed` (scripts/provision.sh). */
  binary?: string;
  /** How long to wait for an S3 write to succeed. Default 60 s. */
  readyTimeoutMs?: number;
}

/** A real SeaweedFS (master, volume, filer and S3 gateway in one process) started by chatlab. */
export interface SeaweedServer extends StartedServer {
  /** The S3 endpoint, `http://127.0.0.1:<s3Port>`. Any credentials are accepted (no identities are configured). */
  readonly url: string;
  readonly s3Port: number;
  /** Graceful stop (SIGTERM; SeaweedFS takes ~16 s), SIGKILL after 20 s; resolves once it is gone. */
  stop(): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL: a crash). Terminating signals resolve once
   * the process is gone; SIGSTOP resolves once every thread has stopped (a
   * signal lands asynchronously, and a request sent meanwhile could still be
   * answered); SIGCONT resolves at once.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Bucket the readiness probe writes to; left in place (one tiny object). */
const PROBE_BUCKET = 'chatlab-ready';

/**
 * Starts `weed server -s3` on 127.0.0.1 and resolves once an S3 write
 * succeeds: the S3 port answers ~2 s after spawn, but writes fail until the
 * master has grown its first volumes, so readiness is a real PutObject, not
 * an open port. Every port (HTTP and gRPC of master, volume, filer and S3)
 * is picked free and bound on loopback; usage reporting is off
 * (`-master.telemetry=false`): nothing leaves the machine. Its HTTP unix
 * sockets go to `dir`; the gRPC ones are fixed by weed in /tmp
 * (`seaweedfs-<service>-grpc-<port>.sock`), removed here after a kill.
 */
export async function startSeaweed(options: SeaweedOptions): Promise<SeaweedServer> {
  if (options.binary === undefined) requireProvisioned({ seaweed: true });
  const dir = resolve(options.dir);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const s3Port = options.port || undefined;
  const picked = (await freePorts(8)).filter((p) => p !== s3Port);
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3Grpc] = picked;
  const port = s3Port ?? picked[7]!;
  const args = seaweedArgs(join(dir, 'data'), dir, { master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3: port, s3Grpc });
  const logFile = join(dir, 'weed.log');
  const proc = new ManagedProcess({
    name: 'weed', command: options.binary ?? SEAWEED_BIN, args, logFile, cwd: dir,
    // One copy per volume: a single volume server cannot hold more.
    env: { ...process.env, WEED_MASTER_VOLUME_GROWTH_COPY_1: '1' },
  });
  const grpcSockets = [
    `master-grpc-${masterGrpc}`, `volume-grpc-${volumeGrpc}`, `filer-grpc-${filerGrpc}`, `s3-grpc-${s3Grpc}`,
  ].map((name) => join('/tmp', `seaweedfs-${name}.sock`));
  const server = new LocalSeaweed(proc, dir, port, logFile, grpcSockets);
  try {
    await server.waitReady(options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await server.kill();
    throw error;
  }
  return server;
}

/** Ports of one SeaweedFS server: HTTP and gRPC of its master, volume, filer and S3 gateway. */
export interface SeaweedPorts {
  master: number;
  masterGrpc: number;
  volume: number;
  volumeGrpc: number;
  filer: number;
  filerGrpc: number;
  s3: number;
  s3Grpc: number;
}

/**
 * `weed` arguments for one all-in-one server on 127.0.0.1: every port given,
 * usage reporting off (nothing leaves the machine), one copy per volume (set
 * WEED_MASTER_VOLUME_GROWTH_COPY_1=1 in its environment), volumes small
 * enough that many buckets fit. The local world's process and the containers
 * world's container run the same.
 */
export function seaweedArgs(dataDir: string, socketDir: string, p: SeaweedPorts): string[] {
  return [
    '-logtostderr', 'server',
    `-ip=${LOOPBACK}`, `-ip.bind=${LOOPBACK}`,
    `-dir=${dataDir}`,
    `-master.port=${p.master}`, `-master.port.grpc=${p.masterGrpc}`,
    `-volume.port=${p.volume}`, `-volume.port.grpc=${p.volumeGrpc}`,
    `-filer.port=${p.filer}`, `-filer.port.grpc=${p.filerGrpc}`,
    '-s3', `-s3.port=${p.s3}`, `-s3.port.grpc=${p.s3Grpc}`, '-s3.port.iceberg=0', '-s3.port.lance=0',
    '-master.telemetry=false',
    '-volume.max=100', '-master.volumeSizeLimitMB=256', '-volume.preStopSeconds=0',
    `-filer.localSocket=${join(socketDir, 'filer.sock')}`, `-s3.localSocket=${join(socketDir, 's3.sock')}`,
  ];
}

/**
 * Polls an S3 endpoint until a bucket can be made and an object written in
 * it (SeaweedFS answers on its port ~2 s after start, but writes fail until
 * its master has grown volumes), or throws with `tail()` (its log).
 */
export async function waitForS3Write(url: string, alive: () => boolean, tail: () => string, timeoutMs: number): Promise<void> {
  // The SDK warns on Node 20 about its releases after January 2027; the version in package-lock.json is the one that runs.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'chatlab', secretAccessKey: 'chatlab-secret' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 2000, requestTimeout: 5000, throwOnRequestTimeout: true },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const deadline = performance.now() + timeoutMs;
  let last = '';
  try {
    for (;;) {
      if (!alive()) throw new Error(`SeaweedFS exited before it was ready; log:\n${tail()}`);
      try {
        await client.send(new CreateBucketCommand({ Bucket: PROBE_BUCKET })).catch((error: Error) => {
          if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
        });
        await client.send(new PutObjectCommand({ Bucket: PROBE_BUCKET, Key: 'probe', Body: 'ready' }));
        return;
      } catch (error) {
        last = `${(error as Error).name}: ${(error as Error).message}`;
      }
      if (performance.now() > deadline) throw new Error(`SeaweedFS S3 on ${url} not ready after ${timeoutMs} ms (last: ${last}); log:\n${tail()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    client.destroy();
  }
}

class LocalSeaweed implements SeaweedServer {
  readonly url: string;

  constructor(
    private readonly proc: ManagedProcess,
    readonly dir: string,
    readonly s3Port: number,
    readonly logFile: string,
    /** weed removes them on a graceful stop only. */
    private readonly grpcSockets: string[],
  ) {
    this.url = `http://${LOOPBACK}:${s3Port}`;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.running;
  }

  async stop(): Promise<void> {
    if (!this.proc.running) return;
    this.proc.signal('SIGCONT'); // a paused server must run to act on SIGTERM
    await this.proc.stop('SIGTERM', 20_000);
    this.removeSockets();
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.proc.running) return;
    if (signal === 'SIGSTOP') {
      this.proc.signal(signal);
      return untilStopped(this.proc.pid);
    }
    if (!isTerminating(signal)) return this.proc.signal(signal);
    this.proc.signal(signal);
    this.proc.signal('SIGCONT');
    await this.proc.waitExit(Infinity);
    this.removeSockets();
  }

  private removeSockets(): void {
    for (const path of this.grpcSockets) rmSync(path, { force: true });
  }

  /** Resolves once an S3 write succeeds, or throws with the log's last lines. */
  waitReady(timeoutMs: number): Promise<void> {
    return waitForS3Write(this.url, () => this.proc.running, () => this.tail(), timeoutMs);
  }

  private tail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-25).join('\n');
    } catch {
      return '';
    }
  }
}

/** Resolves once every thread of `pid` is stopped (Linux /proc), or it is gone; throws after 5 s. */
async function untilStopped(pid: number): Promise<void> {
  const state = (task: string) => {
    try {
      // "pid (comm) S ...": the state follows the last ')'.
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return 'X'; // the thread has ended
    }
  };
  for (const deadline = performance.now() + 5000; ; ) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return; // the process is gone
    }
    if (tasks.every((t) => /^[TtXZ]$/.test(state(t)))) return;
    if (performance.now() > deadline) throw new Error(`weed (pid ${pid}) not stopped 5 s after SIGSTOP`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
