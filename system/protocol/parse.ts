import { ChatError } from './errors.ts';
import type { ClientFrame } from './frames.ts';
import { ProtocolLimits } from './frames.ts';
import { excerpt, fitsBytes, isObject } from './field-rules.ts';
import { cidProblem, frameRules } from './frame-rules.ts';

/**
 * A frame refused by validation. `cid` is the frame's own cid when it is a
 * frame answered by cid (a `send`, a `keys.distribute`, the story frames, a `call.offer`)
 * with a usable one, so the device can tell which request it was.
 */
export class FrameError extends ChatError {
  constructor(code: ChatError['code'], message: string, readonly cid?: string) {
    super(code, message);
    this.name = 'FrameError';
  }
}

/** Frames a device tells its answers apart by `cid`: their errors carry it. */
const CID_FRAMES: ReadonlySet<string> = new Set(['send', 'keys.distribute', 'keys.introduce', 'story.post', 'story.list', 'story.view', 'story.views', 'call.offer']);

/** Every frame type a device may send, in the order docs/protocol.md lists them. */
export function clientFrameTypes(): string[] {
  return [...frameRules.keys()];
}

/**
 * Parses and validates one client frame. Never throws on any input: returns
 * a FrameError (bad_frame, too_large, unknown_type, unauthorized) the node
 * sends back.
 */
export function parseClientFrame(text: string): ClientFrame | FrameError {
  if (!fitsBytes(text, ProtocolLimits.maxFrameBytes)) {
    return new FrameError('too_large', `frame exceeds ${ProtocolLimits.maxFrameBytes} bytes (UTF-8)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return new FrameError('bad_frame', 'frame is not JSON');
  }
  return validateClientFrame(raw);
}

/**
 * Validates a client frame already decoded (a simulated link carries frame
 * objects, not bytes; the frame's byte size needs the encoding and is not
 * checked here, its fields' sizes are). The frame is taken as is, not copied.
 */
export function validateClientFrame(raw: unknown): ClientFrame | FrameError {
  if (!isObject(raw) || typeof raw.t !== 'string') return new FrameError('bad_frame', 'frame must be a JSON object with a string "t"');
  const rule = frameRules.get(raw.t);
  if (!rule) return new FrameError('unknown_type', `unknown frame type ${excerpt(raw.t)}`);
  const problem = rule(raw);
  if (problem === undefined) return raw as unknown as ClientFrame;
  const cid = CID_FRAMES.has(raw.t) && cidProblem(raw.cid) === undefined ? (raw.cid as string) : undefined;
  if (typeof problem === 'string') return new FrameError('bad_frame', `${raw.t}: ${problem}`, cid);
  return new FrameError(problem.code, problem.message, cid);
}
