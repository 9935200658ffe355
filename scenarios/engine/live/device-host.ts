import net from 'node:net';
import WebSocket from 'ws';
import type { DeviceIO } from '../../device/ports.ts';
import type { VirtualDevice } from '../../device/device.ts';
import { preferenceOrder } from '../../../system/worlds/placement.ts';

export interface SocketLimits {
  /** Set when this process ran out of file descriptors: the clear error the run reports. */
  emfile?: string;
}

/**
 * One read buffer for every device socket of this process. By default Node gives each socket read a new
 * ArrayBuffer with its own backing store, and every young-generation collection sweeps those it outlived:
 * ~1 ms of each ~5 ms pause in a driver worker at 2,000 msgs/s over 1,000 devices (--trace-gc-nvp,
 * sweep_array_buffers). Read into this one instead (net's `onread`), a read's bytes are copied into a
 * Buffer from Node's pool (one ArrayBuffer per 8 KiB of small reads) and handed on as the socket's 'data',
 * synchronously, before the next read can reuse the buffer.
 */
const READS = Buffer.allocUnsafe(64 * 1024);

/** ws's createConnection: net.connect reading into READS. The HTTP upgrade and ws read the copies as 'data'. */
export function connectSharedReads(options: net.NetConnectOpts & { socketPath?: string }): net.Socket {
  const socket: net.Socket = net.connect({
    ...options,
    ...(options.socketPath ? { path: options.socketPath } : {}),
    onread: {
      buffer: READS,
      callback: (n: number, buf: Uint8Array) => {
        const copy = Buffer.allocUnsafe(n);
        copy.set(buf.subarray(0, n));
        socket.emit('data', copy);
        return true;
      },
    },
  } as net.NetConnectOpts);
  return socket;
}

/**
 * Binds one VirtualDevice to a real WebSocket. The device connects to its
 * first-choice node (rendezvous hashing of its id); after a failed attempt it
 * tries its next choice, so devices of a dead node spread over the others.
 */
export class SocketIO implements DeviceIO {
  device!: VirtualDevice;
  private ws?: WebSocket;
  private attempt = 0;
  private readonly order: string[];

  constructor(
    id: string,
    urls: string[],
    private readonly limits: SocketLimits,
    private readonly localAddress?: string,
  ) {
    this.order = preferenceOrder(id, urls);
  }

  connect(): void {
    const url = this.order[this.attempt++ % this.order.length]!;
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: this.localAddress, handshakeTimeout: 10_000, createConnection: connectSharedReads as never });
    this.ws = ws;
    ws.on('open', () => {
      if (this.ws === ws) this.device.onOpen();
    });
    ws.on('message', (data) => {
      if (this.ws === ws) this.device.onFrame(data.toString());
    });
    ws.on('close', (code) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.device.onClose(code || 1006);
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EMFILE' || err.code === 'ENFILE') {
        this.limits.emfile ??= `${err.code}: the driver process reached its open-file limit (20,000 per process here); run with more workers (--workers) or fewer devices`;
      }
    });
  }

  /** The device reached its node: next reconnect starts from its first choice again. */
  connected(): void {
    this.attempt = 0;
  }

  send(text: string): void {
    // As a Buffer, which ws may not modify: it masks it into one new buffer behind the header, one socket write.
    // Given the string, it masks a copy in place and writes header and payload as two chunks (cork, writev):
    // about twice the driver's garbage a frame, and the young-generation pauses that come with it.
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(Buffer.from(text), { binary: false });
  }

  close(): void {
    const ws = this.ws;
    this.ws = undefined;
    if (!ws) return;
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000);
  }

  /** Abrupt drop without a close handshake (a network loss as the server sees it). */
  drop(): void {
    const ws = this.ws;
    this.ws = undefined;
    ws?.terminate();
  }
}

/** Listens to the push service and hands wake-ups to this worker's devices. */
export function listenForPush(url: string, wake: (device: string) => void): { close(): void } {
  let ws: WebSocket | undefined;
  let closed = false;
  const open = () => {
    ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { t: string; device: string };
      if (f.t === 'wake') wake(f.device);
    });
    ws.on('close', () => {
      if (!closed) setTimeout(open, 500).unref();
    });
    ws.on('error', () => {});
  };
  open();
  return {
    close() {
      closed = true;
      ws?.terminate();
    },
  };
}
