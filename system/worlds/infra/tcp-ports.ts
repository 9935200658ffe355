import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Loopback only: every server chatlab starts listens on 127.0.0.1. */
export const LOOPBACK = '127.0.0.1';

function listen(host: string, port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * The kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range;
 * 32768–60999 where it cannot be read): where it picks a client's local port
 * and a bind to port 0.
 */
export function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 1024 && high! >= low!) return [low!, high!];
  } catch {
    // not Linux, or no /proc
  }
  return [32768, 60999];
}

/**
 * Ports free now, all distinct, below the kernel's ephemeral range (in the
 * half of the ports under it, from a random start). Below it, because a
 * port the kernel hands out for binds to port 0 can also become some
 * client's local port (every outgoing connection takes one) between our
 * pick and the server's bind: the servers chatlab starts, and containers on
 * the host network, then fail with EADDRINUSE. Each pick is held open
 * (bound) until every one is picked, so two picks can never collide; there
 * is still a window between closing them and the caller binding them, which
 * is why launchers fail loudly (with their log) when a server cannot bind.
 * Falls back to port-0 binds if that half is full.
 */
export async function freePorts(count: number, host = LOOPBACK): Promise<number[]> {
  const [low] = ephemeralRange();
  const from = Math.max(1024, Math.floor(low / 2));
  const span = low - from;
  const servers: Server[] = [];
  try {
    const start = Math.floor(Math.random() * span);
    for (let i = 0; i < span && servers.length < count; i++) {
      try {
        servers.push(await listen(host, from + ((start + i) % span)));
      } catch {
        // taken: the next one
      }
    }
    while (servers.length < count) servers.push(await listen(host));
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('listen gave no port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** One free port on loopback. */
export async function freePort(host = LOOPBACK): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** `port` if it is non-zero, else a free one. */
export async function portOrFree(port: number | undefined, host = LOOPBACK): Promise<number> {
  return port !== undefined && port !== 0 ? port : freePort(host);
}

/** True if nothing listens on `port` (a bind succeeds). */
export async function isPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  try {
    await close(await listen(host, port));
    return true;
  } catch {
    return false;
  }
}
