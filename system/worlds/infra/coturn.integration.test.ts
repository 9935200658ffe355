import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TurnProtocol, UdpTransport } from 'werift';
import { mintTurnCredentials } from '../../calls/turn-credentials.ts';
import { startCoturn, stunBinding, type CoturnServer } from './coturn-server.ts';
import { pidAlive } from './processes.ts';
import { coturnMissing, scratchDir } from './provisioning.ts';

/** True if a UDP bind to 127.0.0.1:`port` succeeds (nothing holds it). */
function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** One TURN allocation with werift's client (its own refresh loop left out: a ref'd timer that outlives close); resolves to the relayed address. */
async function allocate(server: CoturnServer, user: string): Promise<[string, number]> {
  const c = mintTurnCredentials({ secret: server.secret, urls: server.urls, ttlS: 60 }, user, Date.now());
  const transport = await UdpTransport.init('udp4', { interfaceAddresses: { udp4: '127.0.0.1' } });
  const turn = new TurnProtocol(['127.0.0.1', server.port], c.username, c.credential, 600, transport);
  (turn as unknown as { refresh: () => void }).refresh = () => {};
  try {
    await turn.connectionMade();
    return [turn.relayedAddress[0], turn.relayedAddress[1]];
  } finally {
    await turn.close();
  }
}

// coturn is provisioned by scripts/provision.sh (Debian's coturn). Missing on a
// developer's machine: skipped with a note; in CI (CI=true) a missing one fails.
describe('coturn launcher', function () {
  this.timeout(60_000);
  const started: CoturnServer[] = [];

  before(function () {
    const missing = coturnMissing();
    if (missing.length > 0 && !process.env.CI) {
      console.log(`      skipped: ${missing.join(', ')} — run \`bash scripts/provision.sh\``);
      this.skip();
    }
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  });

  it('starts a loopback-only turnserver that answers STUN and allocates relays in its range with minted credentials, and stops it', async () => {
    const t = performance.now();
    const coturn = await startCoturn({ dir: scratchDir('coturn'), secret: 'launcher-secret' });
    started.push(coturn);
    const readyMs = performance.now() - t;
    assert.deepEqual(coturn.urls, [`turn:127.0.0.1:${coturn.port}?transport=udp`]);
    assert.equal(coturn.secret, 'launcher-secret');
    const conf = readFileSync(join(coturn.dir, 'turnserver.conf'), 'utf8');
    for (const line of ['listening-ip=127.0.0.1', 'relay-ip=127.0.0.1', 'use-auth-secret', 'static-auth-secret=launcher-secret', 'allow-loopback-peers', 'no-tls', 'no-cli']) {
      assert.ok(conf.split('\n').includes(line), `config has ${line}`);
    }
    const [host, port] = await allocate(coturn, 'alice');
    assert.equal(host, '127.0.0.1');
    assert.ok(port >= coturn.minPort && port <= coturn.maxPort, `relay port ${port} in ${coturn.minPort}-${coturn.maxPort}`);
    const { pid } = coturn;
    await coturn.stop();
    assert.equal(pidAlive(pid), false);
    assert.equal(await udpFree(coturn.port), true, 'its port is free again');
    console.log(`      turnserver ready in ${readyMs.toFixed(0)} ms`);
    assert.ok(readyMs < 5000);
  });

  it('runs several side by side, each with its own port and relay range; restarts on the same port', async () => {
    const a = await startCoturn({ dir: scratchDir('coturn-a') });
    started.push(a);
    const b = await startCoturn({ dir: scratchDir('coturn-b'), minPort: 40_100, maxPort: 40_149 });
    started.push(b);
    assert.notEqual(a.port, b.port);
    assert.ok(a.maxPort < b.minPort || b.maxPort < a.minPort, 'disjoint relay ranges');
    assert.notEqual(a.secret, b.secret);
    const [, relayB] = await allocate(b, 'bob');
    assert.ok(relayB >= 40_100 && relayB <= 40_149);
    const oldPid = a.pid;
    await a.restart();
    assert.notEqual(a.pid, oldPid);
    await stunBinding(a.port, 1000);
    await allocate(a, 'carol');
  });
});
