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
 * Ports the kernel says are free now, all distinct: each is found by
 * listening on port 0, and all are held open until every one is picked, so
 * two picks can never collide. There is a window between closing them and
 * the caller binding them; that is why launchers fail loudly (with their
 * log) when a server cannot bind, instead of waiting forever.
 */
export async function freePorts(count: number, host = LOOPBACK): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listen(host));
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('listen on 0 gave no port');
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
