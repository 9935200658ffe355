import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** One tapped frame as a line of the tap file. */
export interface TappedFrame {
  /** Epoch ms when the gateway received or queued it. */
  at: number;
  /** `in`: device → node; `out`: node → device. */
  dir: 'in' | 'out';
  /** The gateway's connection number. */
  conn: number;
  /** The frame text (a binary frame is recorded as `\u0000binary`, as the core sees it). */
  frame: string;
}

/**
 * The wire tap, a test and debugging aid: every text frame one gateway
 * receives and sends, appended to `<dir>/<node>.frames.jsonl`, one JSON
 * `TappedFrame` per line, in the order the gateway saw them. The gateway's
 * `frameTapDir` option (a node process: `CHATLAB_FRAME_TAP`) turns it on;
 * off by default, and then it costs one `undefined` check per frame.
 *
 * Lines are gathered and written synchronously once per event-loop turn, so
 * a reader sees every frame of the turns before it; the file is appended
 * across restarts of the same node. Not for load runs: every frame is copied.
 * The file holds what the frames hold, `hello` tokens included: keep it private.
 */
export class FrameTap {
  readonly file: string;
  private fd: number | undefined;
  private lines: string[] = [];
  private scheduled = false;

  constructor(dir: string, node: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${node}.frames.jsonl`);
    this.fd = openSync(this.file, 'a');
  }

  record(dir: TappedFrame['dir'], conn: number, frame: string): void {
    if (this.fd === undefined) return;
    const line: TappedFrame = { at: Date.now(), dir, conn, frame };
    this.lines.push(JSON.stringify(line));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what was gathered now. */
  flush(): void {
    this.scheduled = false;
    if (this.fd === undefined || this.lines.length === 0) return;
    writeSync(this.fd, `${this.lines.join('\n')}\n`);
    this.lines = [];
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Every frame of a tap file (see FrameTap). */
export function parseTap(text: string): TappedFrame[] {
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as TappedFrame);
}
