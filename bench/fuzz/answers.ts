/**
 * Judges what the cluster says to a fuzz socket: every frame must be JSON of
 * a server frame type docs/protocol.md shows, every `error` must carry an
 * error code of its table, and every close the server starts must use a
 * close code it names. Anything else is counted as undocumented, with the
 * first examples kept (the answer and the frame sent just before it).
 */
import type { Documented } from './documented.ts';

export interface Tally {
  frames: number;
  answers: number;
  undocumented: number;
  /** The first undocumented answer of each kind, with the frames sent since the answer before it. */
  examples: string[];
  errorsByCode: Map<string, number>;
  closesByCode: Map<number, number>;
  /** Barrier pings that got no answer in time (the socket was then dropped). */
  unanswered: number;
  connections: number;
}

export function newTally(): Tally {
  return { frames: 0, answers: 0, undocumented: 0, examples: [], errorsByCode: new Map(), closesByCode: new Map(), unanswered: 0, connections: 0 };
}

const EXAMPLES_MAX = 10;
/** Abnormal closure: the socket ended without a close frame (a code the client sees, never one a server sends). */
export const CUT = 1006;

export class AnswerChecker {
  private readonly kinds = new Set<string>();

  constructor(private readonly doc: Documented, readonly tally: Tally) {}

  private undocumented(kind: string, what: string, after: string): void {
    this.tally.undocumented++;
    if (this.kinds.has(kind) || this.kinds.size >= EXAMPLES_MAX) return;
    this.kinds.add(kind);
    this.tally.examples.push(`${what} — after ${after}`);
  }

  /** One frame from the server; returns it parsed (undefined when it is not JSON). */
  answer(data: Buffer, binary: boolean, after: string): Record<string, unknown> | undefined {
    this.tally.answers++;
    if (binary) return void this.undocumented('binary', `binary frame of ${data.length} bytes`, after);
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    } catch {
      return void this.undocumented('non-JSON', `non-JSON frame ${JSON.stringify(data.toString('utf8').slice(0, 80))}`, after);
    }
    const t = typeof f === 'object' && f !== null ? f.t : undefined;
    if (typeof t !== 'string' || !this.doc.serverFrames.has(t)) {
      this.undocumented(`type ${String(t)}`, `frame of undocumented type ${JSON.stringify(data.toString('utf8').slice(0, 120))}`, after);
    } else if (t === 'error') {
      const code = String(f.code);
      this.tally.errorsByCode.set(code, (this.tally.errorsByCode.get(code) ?? 0) + 1);
      if (!this.doc.errorCodes.has(code)) this.undocumented(`code ${code}`, `error code ${JSON.stringify(f.code)} (${JSON.stringify(f.message)})`, after);
    }
    return f;
  }

  /** A close the server started (or a cut while the cluster was up). */
  close(code: number, reason: string, after: string): void {
    this.tally.closesByCode.set(code, (this.tally.closesByCode.get(code) ?? 0) + 1);
    if (!this.doc.closeCodes.has(code)) this.undocumented(`close ${code}`, code === CUT ? 'connection cut without a close frame (1006)' : `close ${code} ${JSON.stringify(reason)}`, after);
  }
}
