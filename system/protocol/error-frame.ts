import { DevicesChangedError, type ChatError } from './errors.ts';
import type { ServerFrame } from './frames.ts';

/**
 * The error frame a device gets for a refused or failed request: the
 * error's stable code, whether the same request may succeed later, the
 * cid of the frame it answers when there is one, and what a
 * `devices_changed` names.
 */
export function errorFrame(err: ChatError, cid?: string): ServerFrame {
  const f: ServerFrame = { t: 'error', code: err.code, message: err.message, retryable: err.retryable };
  if (cid !== undefined) f.cid = cid;
  if (err.retryAfterMs !== undefined) f.retryAfterMs = err.retryAfterMs;
  if (err instanceof DevicesChangedError) {
    f.missing = err.missing;
    f.stale = err.stale;
    f.changed = err.changed;
  }
  return f;
}
