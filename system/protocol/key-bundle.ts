import { ProtocolLimits } from './frames.ts';
import { int, isObject, type Problem, type Raw } from './field-rules.ts';

/**
 * The pre-key bundle a device publishes (`keys.publish`), Signal-style:
 * public keys only, base64url without padding. An X25519/Ed25519 public key
 * is 32 bytes (33 with Signal's one-byte type prefix), a signature 64.
 *
 * The schema is exact: a missing field, a field of the wrong type, or a
 * field the schema does not name is refused, so nothing but this shape is
 * ever stored and handed to other devices.
 */
export const KeyBundleRules = {
  publicKeyBytes: [32, 33],
  signatureBytes: [64, 64],
} as const;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The byte length a base64url string (no padding) decodes to, or -1 when it is not one. */
export function base64urlBytes(s: string): number {
  if (s.length % 4 === 1 || !BASE64URL.test(s)) return -1;
  return Math.floor((s.length * 3) / 4);
}

export function keyBundleProblem(v: unknown): Problem {
  if (!isObject(v)) return 'bundle must be an object {identityKey, signedPreKey, oneTimePreKeys}';
  return (
    onlyFields(v, 'bundle', ['identityKey', 'signedPreKey', 'oneTimePreKeys']) ??
    bytes(v.identityKey, 'bundle.identityKey', KeyBundleRules.publicKeyBytes) ??
    signedPreKey(v.signedPreKey) ??
    oneTimePreKeys(v.oneTimePreKeys)
  );
}

function signedPreKey(v: unknown): Problem {
  const name = 'bundle.signedPreKey';
  if (!isObject(v)) return `${name} must be an object {id, key, signature}`;
  return (
    onlyFields(v, name, ['id', 'key', 'signature']) ??
    int(v.id, `${name}.id`, 0, ProtocolLimits.maxPreKeyId) ??
    bytes(v.key, `${name}.key`, KeyBundleRules.publicKeyBytes) ??
    bytes(v.signature, `${name}.signature`, KeyBundleRules.signatureBytes)
  );
}

function oneTimePreKeys(v: unknown): Problem {
  const name = 'bundle.oneTimePreKeys';
  const max = ProtocolLimits.maxOneTimePreKeys;
  if (!Array.isArray(v) || v.length > max) return `${name} must be an array of 0..${max} {id, key}`;
  const ids = new Set<number>();
  for (let i = 0; i < v.length; i++) {
    const k: unknown = v[i];
    const at = `${name}[${i}]`;
    if (!isObject(k)) return `${at} must be an object {id, key}`;
    const problem = onlyFields(k, at, ['id', 'key']) ?? int(k.id, `${at}.id`, 0, ProtocolLimits.maxPreKeyId) ?? bytes(k.key, `${at}.key`, KeyBundleRules.publicKeyBytes);
    if (problem) return problem;
    if (ids.has(k.id as number)) return `${at}.id repeats an earlier one-time pre-key id`;
    ids.add(k.id as number);
  }
  return undefined;
}

function bytes(v: unknown, name: string, [min, max]: readonly [number, number]): Problem {
  const n = typeof v === 'string' ? base64urlBytes(v) : -1;
  if (n >= min && n <= max) return undefined;
  return `${name} must be base64url (no padding) of ${min === max ? min : `${min}..${max}`} bytes`;
}

function onlyFields(o: Raw, name: string, allowed: readonly string[]): Problem {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) return `${name} has a field the schema does not name (allowed: ${allowed.join(', ')})`;
  return undefined;
}
