import type { NodeId } from '../protocol/ids.ts';
import { closeRedis, DEFAULT_PREFIX, duplicateClient, guard, isCluster, type RedisAdapterOptions, type RedisClient } from '../drivers/redis-client.ts';
import type { Bus, Unsubscribe } from './bus.ts';
import type { Envelope } from './envelope.ts';

export interface RedisBusOptions extends RedisAdapterOptions {
  /**
   * Called when a handler throws or an incoming message is not a valid
   * envelope. Default: rethrow asynchronously, so a bug fails loudly instead
   * of stalling the bus (as MemoryBus does).
   */
  onHandlerError?: (error: unknown, node: NodeId) => void;
}

const rethrow = (error: unknown): void => {
  queueMicrotask(() => {
    throw error;
  });
};

/**
 * The Bus over Redis pub/sub: one channel per node, `<prefix>bus:<node>`,
 * envelopes as JSON.
 *
 * Guarantees, as the port asks: at most once — Redis delivers a PUBLISH to
 * the connections subscribed at that moment and keeps nothing, so an
 * envelope to a node that is down, not yet subscribed, reconnecting, or cut
 * off for overflowing its output buffer (Redis's `client-output-buffer-limit
 * pubsub`, 32 MB hard by default) is lost; the Inbox still holds every
 * delivery. In order per (publisher, subscriber): each side uses one TCP
 * connection and Redis handles one connection's commands in order.
 *
 * Publishing uses the shared client (with auto-pipelining, a burst of
 * publishes goes out in one write); subscribing needs a connection of its
 * own in subscriber mode, which this Bus opens on first subscribe (a
 * `duplicate` of the client), owns and closes. ioredis resubscribes it by
 * itself after a reconnect.
 *
 * On a Redis Cluster it uses sharded pub/sub (SPUBLISH, SSUBSCRIBE; Redis
 * 7+): a channel lives on the master serving its name's slot, where both
 * sides meet, so the guarantees above hold as on one Redis. Classic PUBLISH
 * would work too (the cluster forwards it to every node) but not keep them:
 * ioredis sends each PUBLISH to a random node, two nodes forward over
 * different links (order lost), and a PUBLISH answered before a SUBSCRIBE
 * may still reach the new subscriber through the cluster bus. Sharded
 * channels also spare the cluster that fan-out to every node.
 */
export class RedisBus implements Bus {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly onHandlerError: (error: unknown, node: NodeId) => void;
  /** On a Redis Cluster: sharded pub/sub (see the class comment). */
  private readonly sharded: boolean;
  /** Per subscribed node: its handlers, and the SUBSCRIBE that made the channel live. */
  private readonly channels = new Map<NodeId, { handlers: Set<(envelope: Envelope) => void>; ready: Promise<void> }>();
  private subscriber?: Promise<RedisClient>;
  private closed = false;

  constructor(options: RedisBusOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.onHandlerError = options.onHandlerError ?? rethrow;
    this.sharded = isCluster(this.client);
  }

  publish(node: NodeId, envelope: Envelope): Promise<void> {
    return guard('bus', async () => {
      if (this.closed) return; // at most once: a closed bus drops
      const channel = this.channel(node);
      if (this.sharded) await this.client.spublish(channel, JSON.stringify(envelope));
      else await this.client.publish(channel, JSON.stringify(envelope));
    });
  }

  subscribe(node: NodeId, handler: (envelope: Envelope) => void): Promise<Unsubscribe> {
    return guard('bus', async () => {
      if (this.closed) throw new Error('RedisBus is closed');
      const sub = await this.subscriberConnection();
      let channel = this.channels.get(node);
      if (!channel) {
        const ready = (this.sharded ? sub.ssubscribe(this.channel(node)) : sub.subscribe(this.channel(node))).then(() => undefined);
        this.channels.set(node, (channel = { handlers: new Set(), ready }));
        ready.catch(() => {
          if (this.channels.get(node) === channel && channel!.handlers.size === 0) this.channels.delete(node);
        });
      }
      // A second subscriber of the same node also waits until Redis confirmed the channel.
      await channel.ready;
      // Wrapped, so the same function subscribed twice is two subscriptions.
      const entry = (envelope: Envelope) => handler(envelope);
      channel.handlers.add(entry);
      return () => this.unsubscribe(node, entry);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    const sub = await this.subscriber?.catch(() => undefined);
    if (sub) await closeRedis(sub);
  }

  private unsubscribe(node: NodeId, entry: (envelope: Envelope) => void): Promise<void> {
    return guard('bus', async () => {
      const channel = this.channels.get(node);
      if (!channel?.handlers.delete(entry) || channel.handlers.size > 0) return;
      this.channels.delete(node);
      if (!this.closed && this.subscriber) {
        const sub = await this.subscriber;
        await (this.sharded ? sub.sunsubscribe(this.channel(node)) : sub.unsubscribe(this.channel(node)));
      }
    });
  }

  private subscriberConnection(): Promise<RedisClient> {
    this.subscriber ??= this.openSubscriber().catch((error) => {
      this.subscriber = undefined;
      throw error;
    });
    return this.subscriber;
  }

  private async openSubscriber(): Promise<RedisClient> {
    const sub = duplicateClient(this.client, { lazyConnect: true, shardedSubscribers: this.sharded });
    sub.on('error', () => {});
    const channelPrefix = `${this.prefix}bus:`;
    sub.on(this.sharded ? 'smessage' : 'message', (channel: string, message: string) => {
      const node = channel.slice(channelPrefix.length);
      const set = this.channels.get(node)?.handlers;
      if (!set) return; // unsubscribed while this message was on its way
      let envelope: Envelope;
      try {
        envelope = JSON.parse(message) as Envelope;
      } catch (error) {
        this.onHandlerError(error, node);
        return;
      }
      for (const handler of [...set]) {
        try {
          handler(envelope);
        } catch (error) {
          this.onHandlerError(error, node);
        }
      }
    });
    await sub.connect();
    return sub;
  }

  private channel(node: NodeId): string {
    return `${this.prefix}bus:${node}`;
  }
}
