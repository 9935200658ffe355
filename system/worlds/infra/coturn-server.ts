import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOOPBACK } from './tcp-ports.ts';
import { isTerminating, ManagedProcess, type StartedServer } from './processes.ts';
import { requireProvisioned } from './provisioning.ts';

export interface CoturnOptions {
  /** Config, log, pidfile and user database folder; created if missing. The log is `<dir>/turnserver.log`. */
  dir: string;
  /** The TURN REST API secret shared with the chat nodes (`static-auth-secret`); random when absent. */
  secret?: string;
  /** UDP listening port on 127.0.0.1; 0 or absent picks a free one. Kept across restarts. */
  port?: number;
  /**
   * Relay port range (one UDP port per allocation). Absent: a block of
   * `RELAY_BLOCK` ports above the kernel's ephemeral range (61000–65535,
   * where no socket bound to port 0 lands), a different block for each
   * server this process starts, so several can run side by side.
   */
  minPort?: number;
  maxPort?: number;
  /** Realm (`realm=`); default `chatlab`. */
  realm?: string;
  /** Default 'turnserver' on PATH (scripts/provision.sh installs Debian's coturn). */
  binary?: string;
  /** How long to wait for a STUN Binding request to be answered. Default 10 s. */
  readyTimeoutMs?: number;
}

/** A real coturn `turnserver` started by chatlab (see `startCoturn`). */
export interface CoturnServer extends StartedServer {
  readonly host: string;
  readonly port: number;
  /** `turn:127.0.0.1:<port>?transport=udp`, as handed to devices (TurnConfig.urls). */
  readonly urls: string[];
  /** The shared secret the chat nodes mint credentials with. */
  readonly secret: string;
  readonly realm: string;
  /** The relay port range it allocates from. */
  readonly minPort: number;
  readonly maxPort: number;
  /** Graceful stop (SIGTERM); resolves once the process is gone. Allocations die with it. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL: a crash); terminating signals resolve once the process is gone, SIGSTOP/SIGCONT at once. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it if running, then starts it again on the same port, range and secret, ready (the old allocations are gone). */
  restart(): Promise<void>;
}

/** Relay ports per server when no range is given: each call leg holds one while its allocation lives. */
export const RELAY_BLOCK = 400;
/** Above Linux's default ephemeral range (32768–60999): the kernel never hands these out to port-0 binds. */
const RELAY_BASE = 61_000;
const RELAY_BLOCKS = Math.floor((65_535 - RELAY_BASE + 1) / RELAY_BLOCK);
// Process-wide by nature, like the ports themselves: two servers of one process never share a block.
let nextBlock = process.pid % RELAY_BLOCKS;

/**
 * Starts coturn's `turnserver -c <dir>/turnserver.conf` on 127.0.0.1 and
 * resolves once it answers a STUN Binding request on its port (coturn
 * listens ~30 ms after spawn). The config is loopback only (listening and
 * relay address 127.0.0.1, peers on loopback allowed — without
 * `allow-loopback-peers` every permission to a loopback peer is refused),
 * UDP only, no TLS/DTLS, no CLI, and TURN REST API credentials
 * (`use-auth-secret`, `static-auth-secret`): a username is
 * `<expiry>:<user>` and its password base64(HMAC-SHA1(secret, username)),
 * as `mintTurnCredentials` makes them. A password made with another secret
 * is answered by silence after the nonce round, not a fast refusal (coturn
 * 4.6 sends its 401 without a MESSAGE-INTEGRITY the client can check).
 */
export async function startCoturn(options: CoturnOptions): Promise<CoturnServer> {
  requireProvisioned({ coturn: options.binary === undefined });
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const port = options.port || (await freeUdpPort());
  let { minPort, maxPort } = options;
  if (minPort === undefined || maxPort === undefined) {
    const range = relayRange();
    minPort ??= range.minPort;
    maxPort ??= minPort === range.minPort ? range.maxPort : minPort + RELAY_BLOCK - 1;
  }
  if (!(minPort > 0 && maxPort >= minPort && maxPort <= 65_535)) throw new RangeError(`bad relay port range ${minPort}-${maxPort}`);
  const server = new LocalCoturn(dir, port, {
    secret: options.secret ?? randomBytes(24).toString('base64url'),
    realm: options.realm ?? 'chatlab',
    minPort, maxPort,
    binary: options.binary ?? 'turnserver',
    readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
  });
  await server.start();
  return server;
}

/** What makes one loopback relay: its listening port, relay range, realm and secret. */
export interface CoturnSettings {
  port: number;
  minPort: number;
  maxPort: number;
  realm: string;
  secret: string;
}

/**
 * coturn's options for one loopback relay (see `startCoturn`), each `key=value`
 * or a flag, as a config file has them; `files` are where its user database,
 * pidfile and log go (`log` `stdout` in a container).
 */
export function coturnOptions(c: CoturnSettings, files: { userdb: string; pidfile: string; log: string }): string[] {
  return [
    `listening-ip=${LOOPBACK}`,
    `relay-ip=${LOOPBACK}`,
    `listening-port=${c.port}`,
    `min-port=${c.minPort}`,
    `max-port=${c.maxPort}`,
    `realm=${c.realm}`,
    'use-auth-secret',
    `static-auth-secret=${c.secret}`,
    'allow-loopback-peers',
    'no-multicast-peers',
    'fingerprint',
    // Devices speak TURN over UDP only; nothing else listens.
    'no-tcp', 'no-tcp-relay', 'no-tls', 'no-dtls', 'no-cli', 'no-rfc5780',
    'no-software-attribute',
    `userdb=${files.userdb}`,
    `pidfile=${files.pidfile}`,
    `log-file=${files.log}`,
    'simple-log',
    ...(files.log === 'stdout' ? [] : ['no-stdout-log']),
  ];
}

/** The `turnserver.conf` of one loopback relay whose files are in `dir`. */
export function coturnConfig(c: CoturnSettings & { dir: string }): string {
  const files = { userdb: join(c.dir, 'turndb'), pidfile: join(c.dir, 'turnserver.pid'), log: join(c.dir, 'turnserver.log') };
  return [...coturnOptions(c, files), ''].join('\n');
}

/** `turnserver` arguments for the same relay without a config file (`-n`), its files in `/tmp` and its log on stdout: the containers world's. */
export function coturnArgs(c: CoturnSettings): string[] {
  return ['-n', ...coturnOptions(c, { userdb: '/tmp/turndb', pidfile: '/tmp/turnserver.pid', log: 'stdout' }).map((o) => `--${o}`)];
}

/** A relay port range no other relay this process started uses (see `CoturnOptions.minPort`). */
export function relayRange(): { minPort: number; maxPort: number } {
  const block = nextBlock;
  nextBlock = (nextBlock + 1) % RELAY_BLOCKS;
  const minPort = RELAY_BASE + block * RELAY_BLOCK;
  return { minPort, maxPort: minPort + RELAY_BLOCK - 1 };
}

interface Settings {
  secret: string;
  realm: string;
  minPort: number;
  maxPort: number;
  binary: string;
  readyTimeoutMs: number;
}

class LocalCoturn implements CoturnServer {
  readonly host = LOOPBACK;
  readonly logFile: string;
  readonly urls: string[];
  private proc?: ManagedProcess;

  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly s: Settings,
  ) {
    this.logFile = join(dir, 'turnserver.log');
    this.urls = [`turn:${LOOPBACK}:${port}?transport=udp`];
  }

  get secret(): string {
    return this.s.secret;
  }

  get realm(): string {
    return this.s.realm;
  }

  get minPort(): number {
    return this.s.minPort;
  }

  get maxPort(): number {
    return this.s.maxPort;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const conf = join(this.dir, 'turnserver.conf');
    writeFileSync(conf, coturnConfig({ ...this.s, port: this.port, dir: this.dir }), { mode: 0o600 });
    // A database left by an earlier start holds nothing we use (the secret is in the config).
    rmSync(join(this.dir, 'turndb'), { force: true });
    this.proc = new ManagedProcess({ name: 'turnserver', command: this.s.binary, args: ['-c', conf], logFile: join(this.dir, 'turnserver.stdout.log'), cwd: this.dir });
    try {
      await this.waitReady(this.proc, this.s.readyTimeoutMs);
    } catch (error) {
      await this.proc.stop('SIGKILL');
      throw error;
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    proc.signal('SIGCONT'); // a paused server must run to act on SIGTERM
    await proc.stop('SIGTERM', 5000);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    if (!isTerminating(signal)) return proc.signal(signal);
    proc.signal(signal);
    proc.signal('SIGCONT');
    await proc.waitExit(Infinity);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private async waitReady(proc: ManagedProcess, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (!proc.running) throw new Error(`turnserver exited (${JSON.stringify(proc.exitInfo)}) before it was ready; log:\n${this.tail()}`);
      try {
        await stunBinding(this.port, 50);
        return;
      } catch (error) {
        last = (error as Error).message;
      }
      if (performance.now() > deadline) throw new Error(`turnserver on udp ${this.port} not ready after ${timeoutMs} ms (last: ${last}); log:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private tail(): string {
    const read = (f: string) => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    };
    return (read(join(this.dir, 'turnserver.stdout.log')) + read(this.logFile)).split('\n').slice(-20).join('\n');
  }
}

/** A UDP port on loopback nothing is bound to now (bind port 0, read it, close; the window until coturn binds it is why a failed start shows the log). */
export function freeUdpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createSocket('udp4');
    s.once('error', rej);
    s.bind(0, LOOPBACK, () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

/**
 * Sends one STUN Binding request (RFC 5389, no attributes) to 127.0.0.1:`port`
 * and resolves when a success response with its transaction id comes back:
 * the server listens and answers. Rejects after `timeoutMs`.
 */
export function stunBinding(port: number, timeoutMs: number): Promise<void> {
  return new Promise((res, rej) => {
    const socket = createSocket('udp4');
    const id = randomBytes(12);
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding request
    request.writeUInt16BE(0, 2);
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    id.copy(request, 8);
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.close();
      if (error) rej(error);
      else res();
    };
    const timer = setTimeout(() => done(new Error(`no STUN answer on udp ${port} in ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', (e) => done(e));
    socket.on('message', (msg) => {
      if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(id)) done();
    });
    socket.send(request, port, LOOPBACK);
  });
}
