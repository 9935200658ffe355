/**
 * One fuzz lane: a socket to a node that sends fuzzed frames in batches,
 * each batch followed by a ping whose answer paces the next one, until the
 * server closes it or it has sent its share; then a new socket. A share of
 * the sockets signs in first (a valid token for the lane's own device), the
 * rest fuzz before hello. Deliveries that reach a lane are acknowledged, as
 * a client would, so inboxes do not grow without end.
 */
import WebSocket from 'ws';
import { CUT, type AnswerChecker } from './answers.ts';
import { describeFrame, type FrameSource } from './frames.ts';

export interface LaneOptions {
  urls: string[];
  source: FrameSource;
  checker: AnswerChecker;
  token: (device: string) => string;
  /** Frames sent between two pacing pings. */
  batch: number;
  /** Frames a socket sends before the lane closes it and opens another. */
  perConnection: number;
  /** Share of sockets that sign in before fuzzing, 0..1. */
  helloShare: number;
  /** How long a pacing ping may wait for its answer before the socket is dropped. */
  answerTimeoutMs: number;
  /** False once the run must stop (frame budget spent, time up, cluster gone). */
  more: () => boolean;
  /** True once the cluster process has ended: its cuts are counted as a crash, not as answers. */
  clusterDown: () => boolean;
  /** Every fuzz frame sent, described (the runner keeps the last few to show after a crash). */
  onSent: (description: string) => void;
  random: () => number;
}

const PING = '{"t":"ping"}';

export async function runLane(lane: number, o: LaneOptions): Promise<void> {
  for (let k = 0; o.more(); k++) await fuzzConnection(`fz${lane}.${1 + (k % 3)}`, o.urls[(lane + k) % o.urls.length]!, o);
}

async function fuzzConnection(device: string, url: string, o: LaneOptions): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  // Frames sent since the last answer: one of them is what the next answer (or close) is about.
  let recent: string[] = ['the socket opened'];
  const after = () => recent.map((d) => (d.length > 60 ? `${d.slice(0, 50)}…` : d)).join(' | ');
  let closed = false;
  let closedByUs = false;
  let waiter: (() => void) | undefined;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  ws.on('error', () => {});
  ws.on('message', (data: Buffer, binary: boolean) => {
    const f = o.checker.answer(data, binary, after());
    recent = [];
    if (!f) return;
    if (f.t === 'msg' && typeof f.mid === 'string') ws.send(JSON.stringify({ t: 'recv', ids: [f.mid] }));
    else if (f.t === 'receipt' && typeof f.id === 'string') ws.send(JSON.stringify({ t: 'recv', ids: [f.id] }));
    if (f.t === 'pong' || f.t === 'error' || f.t === 'drained') wake();
  });
  const closing = new Promise<void>((resolve) => ws.on('close', (code: number, reason: Buffer) => {
    closed = true;
    wake();
    resolve();
    if (closedByUs) return;
    const what = after();
    // A crash cuts every socket a moment before its exit is seen: judge a cut once that moment has passed.
    if (code === CUT) setTimeout(() => o.clusterDown() || o.checker.close(code, '', what), 1000);
    else if (!o.clusterDown()) o.checker.close(code, reason.toString(), what);
  }));
  const answered = (ms: number) => new Promise<boolean>((resolve) => {
    const t = setTimeout(() => {
      waiter = undefined;
      resolve(false);
    }, ms);
    waiter = () => {
      clearTimeout(t);
      resolve(true);
    };
  });
  const opened = await Promise.race([new Promise<boolean>((r) => ws.once('open', () => r(true))), closing.then(() => false)]);
  if (!opened) return;
  o.checker.tally.connections++;
  if (o.random() < o.helloShare) {
    ws.send(JSON.stringify({ t: 'hello', token: o.token(device) }));
    recent = [`hello as ${device}`];
    await answered(o.answerTimeoutMs);
  }
  for (let sent = 0; !closed && sent < o.perConnection && o.more();) {
    for (let i = 0; i < o.batch && !closed && o.more(); i++, sent++) {
      const f = o.source.take();
      const d = describeFrame(f);
      recent.push(d);
      o.onSent(d);
      ws.send(f.data, { binary: f.binary });
      o.checker.tally.frames++;
    }
    if (closed) break;
    ws.send(PING);
    if (!(await answered(o.answerTimeoutMs)) && !closed) {
      if (!o.clusterDown()) o.checker.tally.unanswered++;
      break;
    }
  }
  if (closed) return;
  closedByUs = true;
  ws.close(1000);
  const t = setTimeout(() => ws.terminate(), 2000);
  await closing;
  clearTimeout(t);
}
