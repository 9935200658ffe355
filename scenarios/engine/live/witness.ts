/**
 * A witness beside a live run's load (`chatlab run --witness <rate>`,
 * bench:driver): a few devices in a process of their own on
 * the driver's CPU (at nice -20 where allowed), speaking the protocol
 * (docs/protocol.md: `hello`, `send`, `msg`, `recv`) through the same
 * target while the driver's load runs, at a rate small beside it. Its
 * process does next to nothing, so it reads each `msg` as soon as the
 * machine lets it: its latency is what the target and this machine give a
 * message at that load, without a busy driver's event loop in the way.
 * The driver's own share of its run's e2e p99 is what that p99 adds beyond
 * the witness's, both taken over the same seconds.
 *
 * It is not a perfect floor: it shares the driver's CPU, so the kernel may
 * let a busy worker finish its slice before the witness runs. What it adds
 * that way is counted as the machine's, not the driver's: the driver's
 * share it gives is a lower bound.
 *
 * `startWitness(url, secret, rate, cpus)` forks this file
 * (WITNESS_ROLE=child), signs in one receiving device (witness-r.1) and one
 * sending device per 20 msgs/s of `rate` (witness-s1.1, …: under a node's
 * per-device send limit) and returns when all are welcomed; `run(durationMs)`
 * then sends to witness-r evenly spaced from now, round-robin over the
 * senders (a timer to each next send, as the driver schedules arrivals),
 * and resolves with the figures once every message arrived; `finish()`
 * stops it and returns the figures as they stand (a message that never
 * arrived is counted `missing`). Bounded: the child ends itself 2 minutes
 * after its run should have ended, and when its parent goes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type WebSocket from 'ws';
import { pinToCpus } from './affinity.ts';
import { GcPauseMeter, type GcPauses } from './gc-pauses.ts';
import { signIn } from './sign-in.ts';
import { ProbeSchedule, type ProbeFigures } from './probe-schedule.ts';
import { TokenIssuer } from '../../../system/auth/tokens.ts';
import { WallClock } from '../../../system/clock/clock-wall.ts';

/**
 * A `msg`'s arrival at witness-r from the intended and the actual send, and
 * the send lag (ms); `gc`: the witness's own collector pauses over its run.
 */
export type WitnessFigures = ProbeFigures & { gc: GcPauses };

/**
 * How the witness is scheduled beside the driver on its CPU: `nice` (nice
 * -20: the scheduler lets it run first when both want the CPU) or `normal`
 * (as the driver's workers). Not a real-time class: a node process's own
 * threads at one real-time priority on one CPU can starve one another.
 * A negative nice needs root (CAP_SYS_NICE); without it the witness runs
 * as `normal`, and says so.
 */
export type WitnessPriority = 'nice' | 'normal';

export interface Witness {
  pid: number;
  /** The priority it runs at (see WitnessPriority). */
  priority: WitnessPriority;
  /** Sends at the rate it was started with for `durationMs`, from now; resolves when every message arrived. */
  run(durationMs: number): Promise<WitnessFigures>;
  /** Its figures as they stand (`missing`: messages sent or due that have not arrived); ends its sending. */
  finish(): Promise<WitnessFigures>;
  stop(): void;
}

const SELF = fileURLToPath(import.meta.url);
/** tsx resolved from this package, so the witness starts from any working directory. */
const TSX = import.meta.resolve('tsx');
/** Its receiving device; the senders are witness-s1.1, witness-s2.1, …, one per SENDER_RATE msgs/s (under a node's per-device send limit). */
const TO = 'witness-r.1';
const SENDER_RATE = 20;
/**
 * The witness's V8 flags. At nice -20 every millisecond of CPU it takes is
 * one the driver's worker on the same CPU waits: a collection in the
 * witness stalls the run it witnesses, and its figures miss it. V8's memory
 * reducer (a full collection a few seconds after allocation slows, in
 * steps then a pause) did that mid-run: in one 15 s relay round of
 * bench:driver, five collections of 7-20 ms each, in the witness's own
 * thread and its module loader's, and the driver's 2,000 msgs/s relay run
 * read e2e p99 6-10 ms with the witness against 4.3-5.6 without. So: no memory
 * reducer; a young generation of 16 MB from the start, which its few
 * hundred KB a run never fill; a full collection once its devices are in
 * (before `ready`); the collector on its own thread, at its priority.
 */
const WITNESS_NODE_FLAGS = ['--expose-gc', '--no-memory-reducer', '--single-threaded-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];

/** How many devices a witness at `rate` msgs/s signs in: its receiver and its senders. */
export function witnessDevices(rate: number): number {
  return 1 + Math.ceil(rate / SENDER_RATE);
}

type Reply = { t: 'ready' } | { t: 'error'; error: string } | ({ t: 'figures' } & WitnessFigures);
type Command = { t: 'start'; urls: string[]; secret: string; rate: number } | { t: 'run'; durationMs: number } | { t: 'finish' };

/** Raises the process's scheduling priority as far as `want` and this machine allow; returns what it got. */
function prioritize(pid: number, want: WitnessPriority): WitnessPriority {
  if (want === 'nice') {
    try {
      setPriority(pid, -20);
      return 'nice';
    } catch {
      // not permitted here: the witness runs as the driver does
    }
  }
  return 'normal';
}

/**
 * Starts a witness against `urls` (its receiver signs in to the first, its
 * senders to the others in turn, so a message crosses nodes when there are
 * several) and resolves once its devices are welcomed.
 */
export async function startWitness(urls: string | string[], secret: string, rate: number, cpus: string | undefined, want: WitnessPriority = 'nice'): Promise<Witness> {
  const proc = fork(SELF, [], { execArgv: [...WITNESS_NODE_FLAGS, '--import', TSX], env: { ...process.env, WITNESS_ROLE: 'child' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<Reply>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`witness exited with ${code}`));
    proc.once('exit', onExit);
    proc.once('message', (m) => {
      proc.off('exit', onExit);
      const r = m as Reply;
      if (r.t === 'error') reject(new Error(`witness: ${r.error}`));
      else resolve(r);
    });
  });
  const command = (c: Command) => proc.send(c);
  const figures = async (): Promise<WitnessFigures> => {
    const r = await next();
    if (r.t !== 'figures') throw new Error(`witness: unexpected reply ${r.t}`);
    const { t: _, ...f } = r;
    return f;
  };
  const stop = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  try {
    const ready = next();
    command({ t: 'start', urls: typeof urls === 'string' ? [urls] : urls, secret, rate });
    await ready;
    if (cpus) pinToCpus(proc.pid!, cpus);
  } catch (e) {
    stop();
    throw e;
  }
  const priority = prioritize(proc.pid!, want);
  return {
    pid: proc.pid!,
    priority,
    stop,
    run: (durationMs) => {
      const done = figures();
      command({ t: 'run', durationMs });
      return done;
    },
    finish: () => {
      const done = figures();
      command({ t: 'finish' });
      return done;
    },
  };
}

async function open(url: string, tokens: TokenIssuer, device: string): Promise<WebSocket> {
  const ws = await signIn(url, tokens.issue(device, 24 * 3_600_000), device);
  // A node that goes away (a drill's kill) closes its sockets: their messages count missing, the witness carries on.
  ws.on('error', () => {});
  return ws;
}

/** The child: signs its devices in, then sends on `run` and reports on `finish` (or when every message arrived). */
async function serve(urls: string[], secret: string, rate: number): Promise<void> {
  const tokens = new TokenIssuer(secret, new WallClock());
  const senders = Array.from({ length: witnessDevices(rate) - 1 }, (_, i) => `witness-s${i + 1}.1`);
  const [b, ...a] = await Promise.all([open(urls[0]!, tokens, TO), ...senders.map((d, i) => open(urls[(i + 1) % urls.length]!, tokens, d))]);
  let probe = new ProbeSchedule(rate, 0);
  let stopSending = () => {};
  // Its own pauses over the run: at its priority each one holds the driver's CPU (WITNESS_NODE_FLAGS keep them out).
  const pauses = new GcPauseMeter();
  const report = () => process.send!({ t: 'figures', ...probe.figures(), gc: pauses.stop() } satisfies Reply);
  b!.on('message', (data) => {
    const now = performance.now();
    const f = JSON.parse(data.toString()) as { t?: string; body?: unknown; mid?: unknown };
    if (f.t !== 'msg' || typeof f.body !== 'string') return;
    // As every device does: the node may then forget it (and tell its sender it was delivered).
    if (typeof f.mid === 'string') b!.send(JSON.stringify({ t: 'recv', ids: [f.mid] }));
    if (probe.arrive(Number(f.body.slice(0, 10)), now)) report();
  });
  process.on('message', (c: Command) => {
    if (c.t === 'run') {
      probe = new ProbeSchedule(rate, c.durationMs);
      pauses.start();
      stopSending = probe.start(performance.now(), (i) => a[i % a.length]!.send(JSON.stringify({ t: 'send', cid: `w${i}`, to: 'witness-r', body: String(i).padStart(10, '0') })));
      // Bounded: a witness left running ends itself.
      setTimeout(() => process.exit(1), c.durationMs + 120_000).unref();
    } else if (c.t === 'finish') {
      stopSending();
      report();
    }
  });
  // Setup's garbage goes now, before the load, not at the run's expense (WITNESS_NODE_FLAGS).
  (globalThis as { gc?: () => void }).gc?.();
  process.send!({ t: 'ready' } satisfies Reply);
}

if (process.env.WITNESS_ROLE === 'child') {
  process.once('message', (c: Command) => {
    if (c.t !== 'start') return;
    serve(c.urls, c.secret, c.rate).catch((e: Error) => {
      process.send!({ t: 'error', error: e.message } satisfies Reply);
      process.exit(1);
    });
  });
  process.on('disconnect', () => process.exit(0));
}
