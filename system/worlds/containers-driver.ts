import { spawn, spawnSync } from 'node:child_process';
import { driverImage } from './containers-images.ts';

/** One load driver in a container: `chatlab <args>` from the driver image, run to its end. */
export interface DriverContainerOptions {
  /** Container name (unique on the engine). */
  name: string;
  /** The CLI's arguments, e.g. ['run', 'steady-chat', '--target', …] (the image's entrypoint is `node /app/bin/chatlab.js`). */
  args: string[];
  /** Environment of the driver: JOB_COMPLETION_INDEX, CHATLAB_SHARDS, CHATLAB_START_AT, CHATLAB_SECRET, CHATLAB_ALLOW_REMOTE_TARGET, … */
  env?: Record<string, string>;
  /** The Docker network to run on (`host`, or a network's name). */
  network: string;
  /** Host entries (`--add-host name:address`): how the node names resolve inside the driver. */
  hosts?: { name: string; address: string }[];
  /** Bind mounts, host folder → folder in the container (writable by the image's user, uid 10001). */
  mounts?: { host: string; container: string }[];
  /** Default: CHATLAB_DRIVER_IMAGE or chatlab/driver:local. */
  image?: string;
  /** Called with every line the driver prints, as it prints it. */
  onLine?: (line: string) => void;
  /** The container is removed after this long, and the run counts as failed. Default 10 minutes. */
  timeoutMs?: number;
}

export interface DriverContainerResult {
  /** The container's exit code (null: killed on timeout, or the engine failed). */
  code: number | null;
  /** Its stdout and stderr, interleaved as they came. */
  out: string;
  wallMs: number;
}

/**
 * Runs the driver image once with the docker CLI (`docker run --rm`) and
 * resolves with its exit code and output. The container carries the labels
 * the containers world uses (org.chatlab.pid of this process), so one a crash
 * of this process left is removed by the next containers world's start; on
 * timeout it is removed here.
 */
export function runDriverContainer(o: DriverContainerOptions): Promise<DriverContainerResult> {
  const image = o.image ?? driverImage();
  const args = ['run', '--rm', '--name', o.name, '--network', o.network,
    '--label', `org.chatlab.pid=${process.pid}`, '--label', `org.chatlab.role=driver`, '--label', `org.chatlab.driver=${o.name}`];
  for (const h of o.hosts ?? []) args.push('--add-host', `${h.name}:${h.address}`);
  for (const [k, v] of Object.entries(o.env ?? {})) args.push('--env', `${k}=${v}`);
  for (const m of o.mounts ?? []) args.push('--volume', `${m.host}:${m.container}`);
  args.push(image, ...o.args);
  const started = Date.now();
  return new Promise((resolve) => {
    const p = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let partial = '';
    const take = (d: Buffer) => {
      out += d;
      if (!o.onLine) return;
      const lines = (partial + d.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const l of lines) o.onLine(l);
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    const timer = setTimeout(() => {
      out += `\n(driver container ${o.name} still running after ${o.timeoutMs ?? 600_000} ms: removed)\n`;
      removeDriverContainer(o.name);
    }, o.timeoutMs ?? 600_000);
    p.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, out: `${out}\ndocker run failed: ${err.message}`, wallMs: Date.now() - started });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, wallMs: Date.now() - started });
    });
  });
}

/** `docker rm -f` of a driver container by name (nothing if it is gone). */
export function removeDriverContainer(name: string): void {
  spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore', timeout: 60_000 });
}
