import type { ServerFrame } from '../protocol/frames.ts';
import type { ConnIndex } from './conn-index.ts';
import type { Connection } from './connection.ts';
import type { Directory } from './directory.ts';
import type { NodeMetrics } from './metrics.ts';
import type { ChatNodeOptions } from './options.ts';
import type { ConnId, Ports } from './ports.ts';
import type { Snowflake } from './snowflake.ts';

/**
 * What the parts of a node (delivery, the send path, groups, presence,
 * sign-in, liveness) share of it: its ports and options, its counters and
 * caches, its connections, and the way out to a device. Parts get this and
 * their siblings, never the node, so each can be built and tested alone.
 */
export interface NodeContext {
  readonly ports: Ports;
  readonly opts: ChatNodeOptions;
  readonly metrics: NodeMetrics;
  readonly directory: Directory;
  readonly ids: Snowflake;
  readonly connections: ConnIndex;
  /** False once the node stopped or was killed: late async work then has no effect. */
  alive(): boolean;
  /** 0 = fine, 1 = shed ephemeral work, 2 = reject sends too. */
  loadLevel(): 0 | 1 | 2;
  /** Sends a frame the node built; nothing once the connection closed or the node stopped. */
  reply(c: Connection, frame: ServerFrame): void;
  /** Sends a frame already encoded (deliveries are encoded once for every device); as `reply`. */
  sendRaw(c: Connection, text: string): void;
  close(conn: ConnId, code: number, reason: string): void;
  /**
   * A frame's handling failed: a ChatError is answered as an error frame
   * (with `cid` when the frame had one), anything else closes the
   * connection with 1011. Never throws.
   */
  failed(c: Connection, err: unknown, cid?: string): void;
}
