/** IPC messages between bench/connections.bench.ts and its child processes. */
import { openSync, readFileSync, readSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';

export interface ProcStats {
  pid: number;
  /** Resident set size, bytes (after a full GC when the process runs with --expose-gc). */
  rss: number;
  heapUsed: number;
  /** process.cpuUsage(): user and system CPU time, microseconds, since start. */
  cpuUs: number;
}

/** Parent -> embedded-server or local-server (`errors`: embedded-server only). */
export type ServerCommand =
  | { cmd: 'stats' }
  | { cmd: 'stop' }
  | { cmd: 'errors' }
  /** Which of `ids` each device's inbox still holds (embedded-server only): end-of-run pending vs lost. */
  | { cmd: 'inbox-has'; req: number; device: string; ids: string[] };

/** Error frames of one code the cluster sent: how many, how many retryable, how many with a retryAfterMs. */
export interface ErrorTally {
  count: number;
  retryable: number;
  withRetryAfter: number;
}

/** embedded-server or local-server -> parent. */
export type ServerReport =
  | {
      t: 'ready';
      urls: string[];
      pid: number;
      fdLimit: number;
      openFds: number;
      /** Set when the cluster signs its own tokens (the local world). */
      secret?: string;
      /** Cluster processes measured (the local world's node processes); default [pid]. */
      pids?: number[];
      /** Sockets the cluster can hold in all; default fdLimit - openFds. */
      socketRoom?: number;
      logs?: string;
    }
  | { t: 'stats'; stats: ProcStats; connections: number; acceptError?: string; extra?: Record<string, ProcStats & { inCluster: boolean }> }
  | { t: 'errors'; byCode: Record<string, ErrorTally> }
  | { t: 'inbox-has'; req: number; held?: boolean[]; error?: string }
  | { t: 'fatal'; message: string };

/** Parent -> conn-worker. */
export type WorkerCommand =
  | { cmd: 'stats' }
  | {
      cmd: 'connect';
      /** Devices u<first>.1 .. u<first+count-1>.1 */
      first: number;
      count: number;
      urls: string[];
      secret: string;
      batch: number;
      batchTimeoutMs: number;
      /** Bind each socket to a 127.0.x.y source address (one address per `perSource` devices). */
      spreadSources: boolean;
      perSource: number;
    }
  | { cmd: 'stop' };

/** conn-worker -> parent. */
export type WorkerReport =
  | { t: 'ready'; pid: number; fdLimit: number }
  | { t: 'stats'; stats: ProcStats; open: number; closes: Record<string, number>; loopMaxMs: number }
  | { t: 'progress'; connected: number; failed: number; open: number }
  | { t: 'done'; connected: number; failed: number; ms: number; errors: Record<string, number>; fatal?: string }
  | { t: 'fatal'; message: string };

/** Hard open-file limit of this process, from /proc/self/limits (20,000 on this machine). */
export async function openFileLimit(): Promise<number> {
  try {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
    if (m) return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    /* not Linux: fall through */
  }
  return 20_000;
}

/** Open file descriptors of this process right now. */
export async function openFds(): Promise<number> {
  try {
    const { readdir } = await import('node:fs/promises');
    return (await readdir('/proc/self/fd')).length;
  } catch {
    return 0;
  }
}

// Kept open so RSS can still be read once the process has run out of file
// descriptors (process.memoryUsage() opens /proc/self/stat and fails with EMFILE).
let statm: number | undefined;
try {
  statm = openSync('/proc/self/statm', 'r');
} catch {
  /* not Linux */
}
const statmBuf = Buffer.alloc(256);

function rssBytes(): number {
  if (statm !== undefined) {
    try {
      const n = readSync(statm, statmBuf, 0, statmBuf.length, 0);
      const pages = Number(statmBuf.toString('latin1', 0, n).split(' ')[1]);
      if (Number.isFinite(pages)) return pages * 4096;
    } catch {
      /* fall back */
    }
  }
  return process.memoryUsage.rss();
}

/** RSS and CPU of this process, after a full GC when global.gc is exposed. */
export function procStats(): ProcStats {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
  const cpu = process.cpuUsage();
  return { pid: process.pid, rss: rssBytes(), heapUsed: getHeapStatistics().used_heap_size, cpuUs: cpu.user + cpu.system };
}

/** CPU seconds (user + system) another process has used, from /proc/<pid>/stat (USER_HZ = 100). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name (which may hold spaces or parentheses): utime is field 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}
