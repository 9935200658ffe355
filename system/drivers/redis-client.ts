import { Redis, type ChainableCommander } from 'ioredis';
import { PortError } from '../protocol/errors.ts';

/** Every key chatlab writes starts with this, so one Redis can host other data too. */
export const DEFAULT_PREFIX = 'chatlab:';

/** What every Redis adapter takes. */
export interface RedisAdapterOptions {
  /**
   * A connected client (see `connectRedis`), shared by the adapters of one
   * node process; the adapter does not close it. Auto-pipelining batches the
   * commands of one tick into one write.
   */
  client: Redis;
  /** Key prefix. Default `chatlab:`. */
  prefix?: string;
}

export interface ConnectOptions {
  /** Shown in `CLIENT LIST`, e.g. the node id. */
  name?: string;
  /** A command with no reply after this long fails (PortError). Default 5000. */
  commandTimeoutMs?: number;
  /** Give up connecting after this long. Default 5000. */
  connectTimeoutMs?: number;
}

/**
 * Opens an ioredis client to `url` and resolves once it is ready.
 *
 * Failure is fast and visible, never a silent wait: while Redis is
 * unreachable commands reject at once (no offline queue) and the adapters
 * turn that into a PortError (`unavailable`, outcome unknown); the client
 * keeps reconnecting in the background (50 ms backoff growing to 1 s) and a
 * subscriber connection resubscribes by itself. That is what a chaos drill
 * that stops Redis observes.
 */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    connectionName: options.name,
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
  // Errors surface through the commands that fail; without a listener ioredis would print each reconnect error.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new PortError('redis', error);
  }
  return client;
}

/** Runs a store operation, turning any failure into a PortError of `port` (outcome unknown). */
export { guardPort as guard } from '../protocol/errors.ts';

export type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * A Lua script bound to `client` as a custom command (EVALSHA, falling back
 * to EVAL after a Redis restart emptied the script cache). Defined once per
 * client and name; the name is namespaced so adapters sharing a client
 * cannot clash.
 */
export function script(client: Redis, name: string, numberOfKeys: number, lua: string): ScriptFn {
  const command = `chatlab_${name}`;
  const commands = client as unknown as Record<string, ScriptFn | undefined>;
  if (typeof commands[command] !== 'function') client.defineCommand(command, { numberOfKeys, lua });
  return (...args) => commands[command]!.call(client, ...args);
}

/** Closes a client the caller owns, without waiting on a dead server. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await Promise.race([client.quit(), new Promise((r) => setTimeout(r, 1000))]);
  } catch {
    // already gone
  }
  client.disconnect();
}

/** Runs a pipeline or MULTI and returns its replies, throwing the first command error (ioredis only reports them per command). */
export async function execAll(chain: ChainableCommander): Promise<unknown[]> {
  const replies = await chain.exec();
  if (replies === null) throw new Error('transaction aborted');
  for (const [error] of replies) if (error) throw error;
  return replies.map(([, value]) => value);
}
