import type { ChatNode } from '../../node/chat-node.ts';
import type { ConnId, Transport } from '../../node/ports.ts';
import type { ClientFrame, ServerFrame } from '../../protocol/frames.ts';
import type { Random } from '../../random/random.ts';
import { nodePauses, type Calibration, type FrameKind } from './calibration.ts';
import { sample } from './distribution.ts';
import type { SimClock } from './sim-clock.ts';
import type { SimNetwork } from './sim-network.ts';
import { ServiceQueue, type Reader } from './sim-service.ts';
import type { DriverLoop } from './sim-driver.ts';

/**
 * The device end of a simulated WebSocket (a VirtualDevice is one). Frames
 * arrive decoded: a simulated link carries objects, not bytes.
 */
export interface SimEndpoint {
  onOpen(): void;
  onFrame(frame: object): void;
  onClose(code: number): void;
}

/** One simulated connection. Each side stops seeing it once it closed or was told it closed. */
export class SimConn {
  deviceOpen = true;
  /** In its transport's `conns` (the node sees it open): set where it enters the table, cleared wherever it leaves. */
  nodeOpen = false;
  /** Arrival time of the last frame each way: a TCP connection is FIFO. */
  upAt = 0;
  downAt = 0;
  /** The turn in which the node's loop last read this connection (ServiceQueue's `readMs`). */
  readTurn = NaN;

  constructor(readonly id: ConnId, readonly transport: SimTransport, readonly socket: SimSocket) {}
}

/** What the transports share: the clock, the network, the CPU model, connection ids. */
export interface SimLinks {
  clock: SimClock;
  network: SimNetwork;
  calibration: Calibration;
  /** CPU-time stream. */
  random: Random;
  nextConnId(): ConnId;
  /** Text frames from nodes to objects for the devices (see frameDecoder). */
  decode(text: string): object;
}

const ABNORMAL = 1006;

/**
 * The node side of simulated device links, one per node: ChatNode's
 * Transport, bound to simulated device↔gateway links instead of sockets, and
 * the node's CPU as a single-server queue (a Node.js process runs one event
 * loop). Incoming frames and bus envelopes wait for the CPU, outgoing frames
 * are charged to it, and the queue's backlog is what the node sees as its
 * event-loop delay, so admission control sheds load as it would live.
 */
export class SimTransport implements Transport {
  node?: ChatNode;
  up = false;
  readonly cpu: ServiceQueue;
  readonly conns = new Map<ConnId, SimConn>();

  /** `cpu`: the event loop this node's work waits for; its own unless the nodes share one (see Calibration.node.cpu). */
  constructor(readonly name: string, private readonly links: SimLinks, cpu?: ServiceQueue) {
    this.cpu = cpu ?? new ServiceQueue(name, 1, links.calibration.node.wakeMs ?? 0, nodePauses(links.calibration), links.calibration.node.wakePer, links.calibration.node.readMs ?? 0);
  }

  // ---- Transport (called by the node) ----

  /** A frame the node stored as text (a message, a receipt): decoded once here, however many devices it goes to. */
  send(conn: ConnId, frame: string): void {
    const c = this.conns.get(conn);
    if (!c) return;
    this.deliver(c, this.links.decode(frame));
  }

  sendFrame(conn: ConnId, frame: ServerFrame): void {
    const c = this.conns.get(conn);
    if (c) this.deliver(c, frame);
  }

  private deliver(c: SimConn, frame: object): void {
    const { clock, calibration, random } = this.links;
    const left = this.cpu.admit(clock.now(), sample(calibration.node.frameOutMs, random));
    const arrive = Math.max(left + this.hop(), c.downAt);
    c.downAt = arrive;
    clock.callAt(arrive, frameToDevice, c, frame);
  }

  close(conn: ConnId, code: number): void {
    const c = this.conns.get(conn);
    if (!c) return;
    this.conns.delete(conn);
    c.nodeOpen = false;
    const node = this.node;
    const { clock } = this.links;
    clock.setTimeout(() => node?.onClose(conn), 0);
    const arrive = Math.max(clock.now() + this.hop(), c.downAt);
    clock.at(arrive, () => c.socket.closedByServer(c, code));
  }

  // ---- device side ----

  /** A device opens a connection here; answers with open, or a refusal when the node is down. */
  open(socket: SimSocket): SimConn | undefined {
    const { clock, network } = this.links;
    if (network.blocked('devices', this.name)) return undefined; // the SYN goes nowhere: the device's connect timeout ends it
    const c = new SimConn(this.links.nextConnId(), this, socket);
    if (!this.up) {
      clock.setTimeout(() => socket.closedByServer(c, ABNORMAL), this.hop() * 2);
      return c;
    }
    const node = this.node!;
    const there = clock.now() + this.hop();
    c.upAt = there;
    clock.at(there, () => {
      if (!c.deviceOpen || this.node !== node || !node.alive) return;
      this.conns.set(c.id, c);
      c.nodeOpen = true;
      node.onOpen(c.id);
      const back = clock.now() + this.hop();
      c.downAt = back;
      clock.at(back, () => {
        if (c.deviceOpen && socket.current === c && c.nodeOpen) socket.device.onOpen();
      });
    });
    return c;
  }

  /** A frame from the device: link, then the CPU queue, then `onFrame`. */
  fromDevice(c: SimConn, frame: ClientFrame): void {
    const { clock } = this.links;
    const arrive = Math.max(clock.now() + this.hop(), c.upAt);
    c.upAt = arrive;
    clock.callAt(arrive, frameAtNode, c, frame);
  }

  /** @internal A device's frame reached this node (see fromDevice): it waits for the CPU, then `onFrame`. */
  frameArrived(c: SimConn, frame: ClientFrame): void {
    if (!this.node || !c.nodeOpen) return;
    this.onCpuCall(sample(this.links.calibration.node.frameMs[frameKind(frame.t)], this.links.random), frameOnCpu, c, frame, c);
  }

  /** The device closed its socket: the node hears of it one hop later, after frames already sent. */
  hangUp(c: SimConn): void {
    c.deviceOpen = false;
    const { clock } = this.links;
    const arrive = Math.max(clock.now() + this.hop(), c.upAt);
    clock.at(arrive, () => {
      if (!this.conns.delete(c.id)) return;
      c.nodeOpen = false;
      this.node?.onClose(c.id);
    });
  }

  /** Runs `fn` once the node's CPU has done `costMs` of work for it (at once when the CPU is idle). */
  onCpu(costMs: number, fn: () => void): void {
    this.onCpuCall(costMs, runThunk, fn, undefined);
  }

  /** `onCpu` for a function of two arguments: no closure per call on the hot paths. */
  onCpuCall<A, B>(costMs: number, fn: (a: A, b: B) => void, a: A, b: B, reader?: Reader): void {
    const { clock, network } = this.links;
    const now = clock.now();
    const done = this.cpu.admit(now, costMs, reader);
    // No wait: the CPU was idle (admit gives work the earliest free server), so no second scan of the queue.
    const waited = this.cpu.lastWaitMs;
    this.node?.setEventLoopDelay(waited);
    if (waited === 0 && done - now < network.resolutionMs) fn(a, b);
    else clock.callAt(done, fn, a, b);
  }

  /** Every connection dies at once (a crash or a cut): devices see 1006 a hop later; the node is not told. */
  dropAll(): void {
    const { clock } = this.links;
    for (const c of this.conns.values()) {
      c.nodeOpen = false;
      clock.setTimeout(() => c.socket.closedByServer(c, ABNORMAL), this.hop());
    }
    this.conns.clear();
  }

  private hop(): number {
    const { network } = this.links;
    const d = network.delay('device-gateway');
    return network.lost('device-gateway') ? d + network.retransmitMs : d;
  }
}

/** A frame from the node reached the device end of `c` (a timer's function: no closure per frame); with a driver loop, the device reads it when the loop gets to it. */
function frameToDevice(c: SimConn, frame: object): void {
  if (!c.deviceOpen || c.socket.current !== c) return;
  const loop = c.socket.loop;
  if (loop) loop.clock.callAt(loop.admit(c.socket), frameRead, c, frame);
  else c.socket.device.onFrame(frame);
}

/** The driver loop got to a frame (see frameToDevice): read unless the socket ended meanwhile. */
function frameRead(c: SimConn, frame: object): void {
  if (c.deviceOpen && c.socket.current === c) c.socket.loop!.read(onFrameOf, c.socket.device, frame);
}

function onFrameOf(device: SimEndpoint, frame: object): void {
  device.onFrame(frame);
}

/** The driver loop wrote a device's frame (see SimSocket.sendFrame): it leaves unless the socket ended meanwhile. */
function frameWritten(c: SimConn, frame: ClientFrame): void {
  if (c.deviceOpen) c.transport.fromDevice(c, frame);
}

/** A frame from the device reached the node end of `c`. */
function frameAtNode(c: SimConn, frame: ClientFrame): void {
  c.transport.frameArrived(c, frame);
}

/** The node's CPU got to a device's frame: the node reads it unless the connection closed meanwhile. */
function frameOnCpu(c: SimConn, frame: ClientFrame): void {
  if (c.nodeOpen) c.transport.node!.onFrame(c.id, frame);
}

function runThunk(fn: () => void): void {
  fn();
}

/** The kind of a client frame (its `t`) for CPU accounting. */
export function frameKind(t: string): FrameKind {
  return t === 'send' || t === 'recv' || t === 'read' || t === 'hello' ? t : 'other';
}

/**
 * Decodes the text frames a node sends, remembering the last one: a group
 * message or a receipt is one text sent to many devices in a row. Devices
 * only read frames, so they may share the decoded object.
 */
export function frameDecoder(): (text: string) => object {
  let lastText: string | undefined;
  let last: object = {};
  return (text) => {
    if (text !== lastText) {
      last = JSON.parse(text) as object;
      lastText = text;
    }
    return last;
  };
}

/** Chooses the node for a device's connection attempt (rendezvous order, see placement.ts). */
export type SimRouter = (deviceId: string, attempt: number) => SimTransport;

/**
 * The device side of a simulated WebSocket (DeviceIO). It connects to the
 * device's nodes in rendezvous order, moving to the next choice after each
 * failed attempt, as the live SocketIO does. Small on purpose: one per device.
 */
export class SimSocket {
  device!: SimEndpoint;
  current?: SimConn;
  /** The load driver's worker loop this device's frames wait for (Calibration.driver); none: frames cost the device nothing. */
  loop?: DriverLoop;
  /** The turn in which that loop last read this socket (the driver's `readMs`). */
  readTurn = NaN;
  private attempt = 0;

  constructor(readonly deviceId: string, private readonly route: SimRouter) {}

  connect(): void {
    this.current = this.route(this.deviceId, this.attempt++).open(this);
  }

  /** The device reached a node: the next reconnect starts from its first choice. */
  connected(): void {
    this.attempt = 0;
  }

  send(text: string): void {
    this.sendFrame(JSON.parse(text) as ClientFrame);
  }

  sendFrame(frame: ClientFrame): void {
    const c = this.current;
    if (!c?.deviceOpen) return;
    const loop = this.loop;
    if (loop) loop.clock.callAt(loop.admit(), frameWritten, c, frame);
    else c.transport.fromDevice(c, frame);
  }

  close(): void {
    const c = this.current;
    this.current = undefined;
    if (c?.deviceOpen) c.transport.hangUp(c);
  }

  /** The server side ended `c` (or it could not be opened). */
  closedByServer(c: SimConn, code: number): void {
    if (!c.deviceOpen || this.current !== c) return;
    c.deviceOpen = false;
    this.current = undefined;
    this.device.onClose(code);
  }
}
