import type { WebSocket } from 'ws';

/** The part of ws's underlying net.Socket the writer uses. */
interface RawSocket {
  write(chunk: Buffer): boolean;
  readonly writableLength: number;
}

/** Text frames waiting for one socket, with their UTF-8 sizes. */
interface Queued {
  ws: WebSocket;
  socket: RawSocket;
  texts: string[];
  sizes: number[];
  bytes: number;
}

/**
 * Server→device text frames, written once per event-loop turn per socket as
 * one buffer of complete WebSocket frames (FIN, opcode 1, unmasked, as a
 * server sends them), below ws's per-frame Sender. An ack, a delivery and a
 * receipt for one device often leave in the same turn; through `ws.send`
 * each frame cost a header allocation and two chunks in the socket's stream
 * buffer (one writev entry each), here the turn's frames cost one buffer and
 * one write.
 *
 * ws still writes its own control frames (ping, close) straight to the
 * socket. Whole frames never interleave, and a close must follow the data
 * queued before it, so callers `flush(ws)` before closing a socket.
 * Sockets ws has no raw socket for (or not open) fall back to, or are left
 * to, `ws.send`.
 */
export class FrameWriter {
  private readonly queued = new Map<WebSocket, Queued>();
  private scheduled = false;

  /** Queues `text` for `ws` and returns the bytes waiting for it in all (queued here and in the socket's buffer). */
  send(ws: WebSocket, text: string): number {
    let q = this.queued.get(ws);
    if (!q) {
      const socket = (ws as unknown as { _socket?: RawSocket })._socket;
      if (!socket) {
        ws.send(text);
        return ws.bufferedAmount;
      }
      q = { ws, socket, texts: [], sizes: [], bytes: 0 };
      this.queued.set(ws, q);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flushAll());
      }
    }
    const size = Buffer.byteLength(text);
    q.texts.push(text);
    q.sizes.push(size);
    q.bytes += size;
    return q.bytes + ws.bufferedAmount;
  }

  /** Writes what is queued for `ws` now. */
  flush(ws: WebSocket): void {
    const q = this.queued.get(ws);
    if (!q) return;
    this.queued.delete(ws);
    write(q);
  }

  private flushAll(): void {
    this.scheduled = false;
    for (const q of this.queued.values()) write(q);
    this.queued.clear();
  }
}

/** One buffer of frames for the socket; nothing is written to a socket that is no longer open. */
function write(q: Queued): void {
  if (q.ws.readyState !== 1) return;
  const { texts, sizes } = q;
  let total = 0;
  for (const n of sizes) total += n + headerSize(n);
  const buf = Buffer.allocUnsafe(total);
  let off = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = sizes[i]!;
    buf[off++] = 0x81;
    if (n < 126) {
      buf[off++] = n;
    } else if (n < 65536) {
      buf[off++] = 126;
      buf.writeUInt16BE(n, off);
      off += 2;
    } else {
      buf[off++] = 127;
      buf.writeUInt32BE(Math.floor(n / 2 ** 32), off);
      buf.writeUInt32BE(n >>> 0, off + 4);
      off += 8;
    }
    off += buf.write(texts[i]!, off, n, 'utf8');
  }
  q.socket.write(buf);
}

/** Bytes of an unmasked frame header for a payload of `n` bytes (RFC 6455 §5.2). */
export function headerSize(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}
