import { randomBytes } from 'node:crypto';
import { AuthService } from '../auth/auth-service.ts';
import { TokenIssuer } from '../auth/tokens.ts';
import { WallClock } from '../clock/clock-wall.ts';
import { Gateway, type GatewayOptions } from '../gateway/gateway.ts';
import { ChatNode } from '../node/chat-node.ts';
import type { ChatNodeOptions } from '../node/options.ts';
import { PushService } from '../push/push-service.ts';
import { RelayStandin } from '../calls/relay-standin.ts';
import { UdpLossProxy } from './infra/udp-loss-proxy.ts';
import { MemoryBlobStore } from '../media/blob-store-memory.ts';
import { MediaWorld, mediaOptionsFromEnv, type MediaWorldOptions } from '../media/media-world.ts';
import { SeededRandom } from '../random/random.ts';
import { makePortFaults, memoryPorts, type MemoryPorts, type PortFaults } from './memory-ports.ts';
import type { WorldControls } from './world.ts';

export interface EmbeddedOptions {
  /** Gateway nodes in this process. Default 3. */
  nodes: number;
  seed: number;
  /** Token secret shared by nodes and the driver; random when omitted. */
  secret?: string;
  node?: Partial<Omit<ChatNodeOptions, 'nodeId' | 'nodeNumber'>>;
  gateway?: Partial<GatewayOptions>;
  /** The media service and its CDN edges (see media/media-world.ts). Default: 2 edges of 256 MiB, 30-day retention. */
  media?: MediaWorldOptions;
  /**
   * Run a TURN relay for calls: the in-process stand-in (calls/relay-standin.ts;
   * nothing to install), its URL and a secret of its own handed to every node
   * (`node.turn`, credentials valid 600 s) and to the engine (`turn`). Off by
   * default: a scenario without calls does not need one.
   */
  relay?: boolean;
  /** With `relay`: devices reach it through a lossy UDP link (infra/udp-loss-proxy.ts) that the `relay-loss` fault sets. */
  relayLoss?: boolean;
}

export interface EmbeddedNode {
  id: string;
  index: number;
  node: ChatNode;
  gateway: Gateway;
  url: string;
  port: number;
  up: boolean;
}

/**
 * The embedded world: N chat nodes in this process over the memory adapters,
 * each with a real ws listener on 127.0.0.1, plus the push service. Needs
 * nothing installed. Devices choose a node by rendezvous hashing of their id
 * (see placement.ts). One process holds at most ~19,900 sockets here, so
 * beyond that use the local world's node processes.
 */
export class EmbeddedCluster {
  readonly nodes: EmbeddedNode[] = [];
  readonly faults: PortFaults = makePortFaults();
  readonly ports: MemoryPorts;
  readonly tokens: TokenIssuer;
  readonly auth: AuthService;
  readonly push = new PushService();
  /** The media service over a memory object store, and its edges, on loopback HTTP. */
  media!: MediaWorld;
  /** The media service's object store (tests lose objects behind its back). */
  readonly mediaStore = new MemoryBlobStore(new WallClock());
  readonly secret: string;
  /** The stand-in TURN relay, when started with `relay`. */
  relay?: RelayStandin;
  /** The lossy link in front of the relay, when started with `relayLoss`. */
  relayLink?: UdpLossProxy;
  /** The relay's URLs and secret, when started with `relay`. */
  turn?: { urls: string[]; secret: string };
  private readonly opts: EmbeddedOptions;

  private constructor(opts: EmbeddedOptions) {
    this.opts = opts;
    const clock = new WallClock();
    this.ports = memoryPorts(clock, new SeededRandom(opts.seed), this.faults);
    this.secret = opts.secret ?? randomBytes(24).toString('base64url');
    this.tokens = new TokenIssuer(this.secret, clock);
    this.auth = new AuthService(this.ports.accounts, this.tokens, clock, this.ports.random.fork('auth'));
  }

  static async start(opts: Partial<EmbeddedOptions> = {}): Promise<EmbeddedCluster> {
    const full: EmbeddedOptions = { nodes: 3, seed: 1, ...opts };
    if (!Number.isInteger(full.nodes) || full.nodes < 1 || full.nodes > 64) throw new RangeError(`nodes must be 1..64, got ${full.nodes}`);
    const cluster = new EmbeddedCluster(full);
    await cluster.push.listen();
    if (full.relay) {
      cluster.relay = await RelayStandin.start({ secret: randomBytes(24).toString('base64url') });
      cluster.turn = { urls: cluster.relay.urls, secret: cluster.relay.secret };
      if (full.relayLoss) {
        cluster.relayLink = await UdpLossProxy.start({ target: `127.0.0.1:${cluster.relay.port}` });
        cluster.turn = { urls: [cluster.relayLink.turnUrl], secret: cluster.relay.secret };
      }
    }
    cluster.media = await MediaWorld.start(cluster.mediaStore, { ...mediaOptionsFromEnv(), ...full.media, clock: new WallClock(), tokens: cluster.tokens, secret: cluster.secret });
    cluster.ports.push.onWake((device, reason) => cluster.push.relay(device, reason));
    for (let i = 0; i < full.nodes; i++) cluster.nodes.push(await cluster.startNode(i));
    return cluster;
  }

  private async startNode(index: number, port = 0): Promise<EmbeddedNode> {
    const id = `node-${index + 1}`;
    const gateway = new Gateway({ ...this.opts.gateway, port }, this.auth);
    const turn = this.turn ? { turn: { ...this.turn, ttlS: 600 } } : {};
    const node = new ChatNode({ ...turn, ...this.opts.node, nodeId: id, nodeNumber: index + 1 }, this.ports, this.tokens, gateway);
    await node.start();
    await gateway.listen(node);
    return { id, index, node, gateway, url: gateway.url, port: gateway.port, up: true };
  }

  /** WebSocket URLs of the nodes that are up. */
  urls(): string[] {
    return this.nodes.filter((n) => n.up).map((n) => n.url);
  }

  /** Every node's URL, up or not: devices keep their preference order and fail over. */
  allUrls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  issueToken(device: string, ttlMs = 24 * 3600_000): string {
    return this.tokens.issue(device, ttlMs);
  }

  /** Crash a node: sockets cut, in-flight work abandoned, registry entry left to expire. */
  async killNode(index: number): Promise<void> {
    const n = this.nodes[index]!;
    if (!n.up) return;
    n.up = false;
    await n.gateway.kill();
  }

  /** Graceful stop of one node: devices are told to go (1001) and reconnect elsewhere. */
  async stopNode(index: number): Promise<void> {
    const n = this.nodes[index]!;
    if (!n.up) return;
    n.up = false;
    await n.gateway.stop();
  }

  /** Brings a stopped or killed node back on the same port, with a fresh core (its memory state is gone, the stores are not). */
  async restartNode(index: number): Promise<void> {
    const old = this.nodes[index]!;
    if (old.up) return;
    this.nodes[index] = await this.startNode(index, old.port);
  }

  /** The chaos controls this world offers: an in-process node can be crashed, stopped and restarted; the relay, when it runs one, stopped and started. */
  controls(): WorldControls {
    const relay = this.relay;
    return {
      killNode: (i) => this.killNode(i),
      stopNode: (i) => this.stopNode(i),
      restartNode: (i) => this.restartNode(i),
      ...(relay ? { stopTurn: () => relay.stop(), startTurn: () => relay.restart() } : {}),
      ...(this.relayLink ? { setRelayLoss: (share: number) => this.relayLink!.setLoss(share) } : {}),
    };
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.filter((n) => n.up).map((n) => n.gateway.stop()));
    for (const n of this.nodes) n.up = false;
    await this.push.close();
    await this.relay?.stop();
    await this.relayLink?.stop();
    await this.media?.stop();
    await this.ports.bus.close();
  }
}
