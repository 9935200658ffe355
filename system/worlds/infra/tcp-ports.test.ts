import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ephemeralRange, freePorts, isPortFree, LOOPBACK } from './tcp-ports.ts';

describe('freePorts', () => {
  it('picks distinct free loopback ports below the kernel\'s ephemeral range, where no outgoing connection can take them first', async () => {
    const [low, high] = ephemeralRange();
    assert.ok(low > 1024 && high >= low, `range ${low}-${high}`);
    const ports = await freePorts(20);
    assert.equal(new Set(ports).size, 20, `distinct: ${ports.join(' ')}`);
    for (const p of ports) {
      assert.ok(p >= Math.floor(low / 2) && p < low, `${p} is below ${low}`);
      assert.equal(await isPortFree(p), true, `${p} binds`);
    }
  });

  it('skips a port something listens on', async () => {
    const [first] = await freePorts(1);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: LOOPBACK, port: first!, exclusive: true }, resolve));
    try {
      for (let i = 0; i < 5; i++) assert.ok(!(await freePorts(8)).includes(first!));
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
