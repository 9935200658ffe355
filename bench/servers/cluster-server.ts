// The system under test for bench:gateway: the embedded cluster in its own process.
import { EmbeddedCluster } from '../../system/worlds/embedded.ts';

const nodes = Number(process.argv[2] ?? 3);
const cluster = await EmbeddedCluster.start({
  nodes,
  seed: 1,
  // Throughput, not limits, is measured here: the per-device rate limit is lifted.
  node: { rateLimitPerSec: 1e6, rateLimitBurst: 1e6 },
});
process.send?.({ urls: cluster.nodes.map((n) => n.url), secret: cluster.secret });
process.on('disconnect', () => process.exit(0));
