import { ChatError } from './errors.ts';
import { ProtocolLimits as L } from './frames.ts';
import { isObject, type Problem } from './field-rules.ts';
import { isDeviceId } from './ids.ts';
import { base64urlBytes } from './key-bundle.ts';

/**
 * A map of device id → ciphertext (base64url without padding), as an e2e
 * `send` and `keys.distribute` carry it: 1..`max` entries, each body
 * non-empty and at most `maxBodyBytes`, all of them together at most a
 * frame (so a frame object handed over without its bytes is bounded too).
 * An oversized body is `too_large`, like a send's `body`; anything else
 * wrong is a Problem (`bad_frame`).
 *
 * Keys are read with Object.keys: `__proto__` from JSON is an own key, and
 * no device id can be named like an Object.prototype member.
 */
export function deviceBodiesProblem(v: unknown, name: string, max: number): Problem | ChatError {
  const shape = `${name} must be an object of 1..${max} device id → base64url ciphertext`;
  if (!isObject(v)) return shape;
  const devices = Object.keys(v);
  if (devices.length === 0 || devices.length > max) return shape;
  let total = 0;
  for (const d of devices) {
    if (!isDeviceId(d)) return `${name} keys must be device ids (<user>.<n>)`;
    const body = v[d];
    if (typeof body !== 'string' || base64urlBytes(body) <= 0) return `${name}.${d} must be a non-empty base64url string (no padding)`;
    if (body.length > L.maxBodyBytes) return new ChatError('too_large', `${name}.${d} exceeds ${L.maxBodyBytes} bytes`);
    total += body.length;
  }
  if (total > L.maxFrameBytes) return new ChatError('too_large', `${name} exceed ${L.maxFrameBytes} bytes in all`);
  return undefined;
}
