import assert from 'node:assert/strict';
import { classes, Message, methods, TurnProtocol, UdpTransport } from 'werift';
import { RelayStandin } from './relay-standin.ts';
import { mintTurnCredentials, type TurnConfig } from './turn-credentials.ts';

// The stand-in must serve an unchanged TURN client (werift's, the devices')
// and check credentials as coturn's use-auth-secret does.
describe('RelayStandin (the embedded world TURN relay)', () => {
  let relay: RelayStandin;
  let cfg: TurnConfig;
  const clients: TurnProtocol[] = [];
  /** werift's TURN client as createTurnClient makes it, without its refresh loop (a ref'd timer of 5/6 of the lifetime that outlives close). */
  const unallocated = async (username: string, password: string) => {
    const transport = await UdpTransport.init('udp4', { interfaceAddresses: { udp4: '127.0.0.1' } });
    const turn = new TurnProtocol(['127.0.0.1', relay.port], username, password, 600, transport);
    (turn as unknown as { refresh: () => void }).refresh = () => {};
    clients.push(turn);
    return turn;
  };
  const client = async (user: string, at = Date.now()) => {
    const c = mintTurnCredentials(cfg, user, at);
    const turn = await unallocated(c.username, c.credential);
    await turn.connectionMade();
    return turn;
  };

  beforeEach(async () => {
    relay = await RelayStandin.start({ secret: 'relay-secret', maxAllocations: 3 });
    cfg = { secret: relay.secret, urls: relay.urls, ttlS: 600 };
  });
  afterEach(async () => {
    for (const c of clients) for (const tx of Object.values(c.transactions)) (tx as unknown as { failWithTimeout(): void }).failWithTimeout();
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await relay.stop();
  });

  it('allocates with valid credentials and relays both ways as ChannelData and Data indications', async () => {
    const a = await client('alice');
    const b = await client('bob');
    assert.equal(a.relayedAddress[0], '127.0.0.1');
    assert.notEqual(a.relayedAddress[1], b.relayedAddress[1]);
    assert.equal(relay.stats.allocations, 2);
    const atA: string[] = [];
    const atB: string[] = [];
    a.onData.subscribe((d) => atA.push(d.toString()));
    b.onData.subscribe((d) => atB.push(d.toString()));
    await b.getPermission(a.relayedAddress); // b lets a's relay in before a sends
    await a.sendData(Buffer.from('hello bob'), b.relayedAddress); // ChannelBind, then ChannelData
    await b.sendData(Buffer.from('hello alice'), a.relayedAddress);
    for (let i = 0; i < 100 && (atA.length === 0 || atB.length === 0); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(atB, ['hello bob']);
    assert.deepEqual(atA, ['hello alice']);
    assert.ok(relay.stats.relayedBytes >= 'hello bob'.length * 2 + 'hello alice'.length * 2);
  });

  it('refuses an expired username at once and a forged password (counted), never allocating', async () => {
    const t = performance.now();
    await assert.rejects(client('carol', Date.now() - 601_000));
    assert.ok(performance.now() - t < 1000, 'a signed 401: the client stops at once');
    assert.equal(relay.stats.refused, 1);
    // A forged password: the 401 cannot be signed with the client's key (the client would retry until it times out); the relay refuses at once.
    const forged = await unallocated(mintTurnCredentials(cfg, 'carol', Date.now()).username, 'bm90IHRoZSBwYXNzd29yZA==');
    const allocating = forged.connectionMade().then(() => 'allocated', () => 'failed');
    for (let i = 0; i < 100 && relay.stats.refused < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(relay.stats.refused, 2);
    assert.equal(relay.stats.allocations, 0);
    for (const tx of Object.values(forged.transactions)) (tx as unknown as { failWithTimeout(): void }).failWithTimeout();
    assert.equal(await allocating, 'failed');
  });

  it('answers 508 beyond its allocation limit and frees an allocation released with lifetime 0', async () => {
    const [first] = [await client('u1'), await client('u2'), await client('u3')];
    await assert.rejects(client('u4'));
    assert.equal(relay.stats.allocations, 3);
    await first!.requestWithRetry(new Message(methods.REFRESH, classes.REQUEST).setAttribute('LIFETIME', 0), first!.server);
    assert.equal(relay.stats.allocations, 2);
    await client('u4');
  });
});
