import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** A protocol relay (protocol-relay.ts) in a process of its own, with a fresh token secret. */
export interface RelayChild {
  urls: string[];
  secret: string;
  pid: number;
  /** Disconnects; kills it by PID if it has not left within 3 s. */
  stop(): Promise<void>;
}

export async function startProtocolRelay(): Promise<RelayChild> {
  const secret = randomBytes(24).toString('base64url');
  const proc = fork(fileURLToPath(new URL('./protocol-relay.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'], env: { ...process.env, BENCH_SECRET: secret }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const urls = await new Promise<string[]>((resolve, reject) => {
    proc.once('message', (m: { urls: string[] }) => resolve(m.urls));
    proc.once('exit', (code) => reject(new Error(`protocol relay exited with ${code}`)));
  });
  return {
    urls, secret, pid: proc.pid!,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.disconnect();
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
