import type { TokenIssuer } from '../../../system/auth/tokens.ts';
import type { Population } from '../../population.ts';
import { groupMemberDevices, signInOnce } from '../group-members.ts';
import { signIn } from './sign-in.ts';

/**
 * Creates the population's groups through the protocol, as their owners: one
 * short connection per owner device, before the drivers connect, so the
 * run's own devices are never replaced. Members join in chunks of 1,000 (the
 * protocol's per-request limit).
 */
export async function setupGroups(population: Population, url: string, tokens: TokenIssuer, shard?: { index: number; count: number }): Promise<void> {
  // A shard signs in only its own users' devices (and shard 0 the phantoms): another shard's devices may already be connected, and a sign-in would replace them.
  const own = (device: string) => {
    if (!shard) return true;
    const u = population.userIndex(device.replace(/\.\d+$/, ''));
    return u >= 0 ? u % shard.count === shard.index : shard.index === 0;
  };
  await signInOnce(groupMemberDevices(population).filter(own), async (device) => (await open(url, tokens.issue(device, 600_000))).close());
  // Sharded, each group is created once, by the shard that drives its owner, as soon as every member has signed in (the other shards sign theirs in meanwhile).
  const deadline = Date.now() + (shard ? 120_000 : 0);
  for (const g of population.groups) {
    const owner = g.members[0];
    if (owner === undefined || (shard && owner % shard.count !== shard.index)) continue;
    const device = population.deviceId(population.devicesOfUser(owner)[0]!);
    const users = [...g.members.map((u) => population.userId(u)), ...g.phantoms];
    const conn = await open(url, tokens.issue(device, 600_000));
    try {
      const create = () => conn.request({ t: 'group.create', gid: g.gid, name: g.gid, members: users.slice(0, 1000), fanout: g.spec.fanout ?? (users.length > 256 ? 'read' : 'write') }, 'group');
      for (;;) {
        try {
          await create();
          break;
        } catch (err) {
          // A member another shard has not signed in yet is refused by name (not_found): asked again until the deadline.
          if (!/not_found/.test((err as Error).message) || Date.now() >= deadline) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      for (let i = 1000; i < users.length; i += 1000) await conn.request({ t: 'group.add', gid: g.gid, users: users.slice(i, i + 1000) }, 'group');
    } finally {
      conn.close();
    }
  }
}

async function open(url: string, token: string) {
  const ws = await signIn(url, token, 'group setup failed');
  const waiting: { t: string; resolve: (f: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  ws.on('message', (data) => {
    const f = JSON.parse(data.toString()) as Record<string, unknown>;
    if (f.t === 'msg' || f.t === 'receipt') ws.send(JSON.stringify({ t: 'recv', ids: [f.mid ?? f.id] }));
    const w = waiting.find((x) => x.t === f.t || f.t === 'error');
    if (!w) return;
    waiting.splice(waiting.indexOf(w), 1);
    if (f.t === 'error') w.reject(new Error(`group setup failed: ${f.code}: ${f.message}`));
    else w.resolve(f);
  });
  const request = (frame: object, t: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      waiting.push({ t, resolve, reject });
      ws.send(JSON.stringify(frame));
      setTimeout(() => reject(new Error(`group setup: no ${t} reply within 15 s`)), 15_000).unref();
    });
  return { request, close: () => ws.close() };
}
