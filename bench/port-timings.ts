import { WallClock } from '../system/clock/clock-wall.ts';
import { SeededRandom } from '../system/random/random.ts';
import { realPorts } from '../system/worlds/real-ports.ts';

/**
 * Times each port operation the lifecycle uses against real Redis and
 * Cassandra, one at a time (round-trip cost) and 64 at once (throughput),
 * in a keyspace of its own.
 */
export async function timePorts(redisUrl: string, cassandra: string): Promise<string[]> {
  const { ports, close } = await realPorts(new WallClock(), new SeededRandom(1), {
    redisUrl, cassandra: [cassandra], keyspace: `bench_${Date.now().toString(36)}`, pushUrl: 'http://127.0.0.1:9', name: 'bench-timing',
  });
  const lines: string[] = [];
  const id = (n: number) => String(n).padStart(18, '0');
  const time = async (name: string, store: string, n: number, conc: number, fn: (i: number) => Promise<unknown>) => {
    const t0 = performance.now();
    let i = 0;
    await Promise.all(Array.from({ length: conc }, async () => {
      while (i < n) await fn(i++);
    }));
    const ms = performance.now() - t0;
    lines.push(`  ${store.padEnd(9)} ${name.padEnd(24)} x${String(conc).padEnd(3)} ${String(Math.round((n / ms) * 1000)).padStart(7)} ops/s  ${((ms / n) * conc).toFixed(2).padStart(7)} ms each`);
  };
  try {
    for (const conc of [1, 64]) {
      const k = conc * 1_000_000;
      await time('sequencer.next', 'redis', 1000, conc, (i) => ports.sequencer.next(`c${i % 50}`));
      await time('dedup.claim', 'redis', 1000, conc, (i) => ports.dedup.claim(`k${k + i}`, 60_000));
      await time('registry.lookup (2)', 'redis', 1000, conc, () => ports.registry.lookup(['a.1', 'b.1']));
      await time('bus.publish', 'redis', 1000, conc, () => ports.bus.publish('nobody', { k: 'typing', devices: [], frame: '{}' }));
      await time('log.append', 'cassandra', 1000, conc, (i) => ports.log.append({ conv: `d:a:b${conc}`, seq: i + 1, mid: id(k + i), from: 'a.1', frame: '{}', ts: 0 }));
      await time('inbox.put (1 device)', 'cassandra', 1000, conc, (i) => ports.inbox.put([{ device: `d${i % 100}.1`, id: id(k + i), kind: 'msg', frame: '{}' }]));
      await time('inbox.put (8 devices)', 'cassandra', 300, conc, (i) => ports.inbox.put(Array.from({ length: 8 }, (_, j) => ({ device: `g${j}.1`, id: id(k + i), kind: 'msg' as const, frame: '{}' }))));
      await time('inbox.ack (1)', 'cassandra', 1000, conc, (i) => ports.inbox.ack(`d${i % 100}.1`, [id(k + i)]));
      await time('accounts.devicesOf (2)', 'cassandra', 500, conc, (i) => ports.accounts.devicesOf([`u${i}`, `u${i + 1}`]));
    }
  } finally {
    await close();
  }
  return lines;
}
