import WebSocket from 'ws';
import type { DeviceIO } from '../../device/ports.ts';
import type { VirtualDevice } from '../../device/device.ts';
import { preferenceOrder } from '../../../system/worlds/placement.ts';

export interface SocketLimits {
  /** Set when this process ran out of file descriptors: the clear error the run reports. */
  emfile?: string;
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
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: this.localAddress, handshakeTimeout: 10_000 });
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
