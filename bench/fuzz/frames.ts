/**
 * Fuzzed client frames, drawn with fast-check: valid frames of every type,
 * the same frames with one value mutated (wrong type, huge, negative,
 * non-finite, long, unicode), property names taken from Object.prototype
 * (as `t`, as field names, and `__proto__` keys), duplicate keys, deep
 * nesting, text that is not JSON, invalid UTF-8 in text frames, binary
 * frames and oversize frames. Hello frames carry valid, expired, forged and
 * malformed tokens, so frames are tried before and after sign-in.
 */
import fc from 'fast-check';

export interface FuzzFrame {
  /** Text (sent as a text frame) or bytes (sent as a text frame with `binary` false: invalid UTF-8). */
  data: string | Buffer;
  binary: boolean;
}

export interface FrameContext {
  /** Users the frames name (recipients, members, subscriptions): the fuzz population and the bystanders. */
  users: string[];
  /** Users whose devices the frames' hello tokens sign in as (never a bystander: a sign-in replaces its connection). */
  signInUsers: string[];
  /** A signed token for `device` valid for `ttlMs` (negative: already expired). */
  token(device: string, ttlMs: number): string;
}

/** Every member of Object.prototype: `__proto__`, `constructor`, `hasOwnProperty`, `valueOf`, … */
export const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype);

export const FRAME_TYPES = [
  'hello', 'send', 'recv', 'read', 'typing', 'presence.sub', 'group.create', 'group.add', 'group.remove',
  'group.list', 'group.receipts', 'group.devices', 'keys.publish', 'keys.fetch', 'keys.count', 'keys.distribute', 'ping',
] as const;

/** A value written into the JSON text as is (numbers JSON.stringify cannot produce, like 1e309). */
const RAW = (text: string) => `\u0000RAW:${text}\u0000`;
const RAW_RE = /"\\u0000RAW:([^"\\]*)\\u0000"/g;

/** JSON text of `v`, with RAW markers replaced by their text. */
export function render(v: unknown): string {
  return JSON.stringify(v).replace(RAW_RE, '$1');
}

const LONG = [255, 256, 1025, 4097, 61_441, 65_537];

function evilValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, -0, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE, '', ' ', 'NaN', 'Infinity', '-1', '0x10', '1e309', [], {}, [null], { length: 1 }) },
    { weight: 2, arbitrary: fc.constantFrom(RAW('1e309'), RAW('-1e309'), RAW('1e-400'), RAW('123456789012345678901234567890'), RAW('-0.0'), RAW('1E+2')) },
    { weight: 2, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
    { weight: 3, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
    { weight: 2, arbitrary: fc.string({ maxLength: 20, unit: 'grapheme' }) },
    { weight: 2, arbitrary: fc.constantFrom(...PROTO_NAMES) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...LONG), fc.constantFrom('x', 'é', '€', '😀', '\u0000', '"')).map(([n, c]) => c.repeat(Math.ceil(n / c.length))) },
    { weight: 2, arbitrary: fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)), { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.array(fc.constant('u'), { minLength: 1001, maxLength: 1003 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...PROTO_NAMES, 'a', 'length'), fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxKeys: 3 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}

function validFrames(ctx: FrameContext): Record<(typeof FRAME_TYPES)[number], fc.Arbitrary<Record<string, unknown>>> {
  const user = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ctx.users) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) });
  const users = fc.array(user, { maxLength: 8 });
  const gid = fc.oneof(fc.constantFrom('g1', 'g2', 'g3'), fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/));
  // Few device numbers per user, the edges among them: every device a user has signed in with gets its own copy
  // of each message to that user, so a thousand would measure stored copies, not what a frame leaves behind.
  const device = fc.tuple(fc.constantFrom(...ctx.signInUsers), fc.constantFrom(0, 1, 2, 3, 999)).map(([u, n]) => `${u}.${n}`);
  const token = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(device, fc.constantFrom(3600_000, 1000)).map(([d, ttl]) => ctx.token(d, ttl)) },
    { weight: 1, arbitrary: device.map((d) => ctx.token(d, -1000)) },
    { weight: 1, arbitrary: device.map((d) => `${ctx.token(d, 3600_000).slice(0, -2)}AA`) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(1025), '.', 'a.', '.b', 'eyJ9.x') },
  );
  const body = fc.oneof({ weight: 40, arbitrary: fc.string({ maxLength: 60 }) }, { weight: 1, arbitrary: fc.constantFrom('x'.repeat(61_440), 'x'.repeat(61_441), '€'.repeat(21_000)) });
  const cid = fc.string({ minLength: 1, maxLength: 64 });
  const to = fc.oneof({ weight: 4, arbitrary: user }, { weight: 1, arbitrary: gid.map((g) => `g:${g}`) });
  // Ciphertexts per device: mostly the fuzzer's own users' devices (so some match their targets), a few bodies at the size edges.
  const ciphertext = fc.oneof({ weight: 20, arbitrary: fc.base64String({ minLength: 4, maxLength: 40 }).map((b) => b.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')) }, { weight: 1, arbitrary: fc.constantFrom('A'.repeat(61_440), 'A'.repeat(61_441), '') });
  const bodies = fc.dictionary(device, ciphertext, { minKeys: 1, maxKeys: 6 });
  const send = fc.record({ t: fc.constant('send'), cid, to, body, kind: fc.constantFrom('text', 'media', 'e2e') }, { requiredKeys: ['t', 'cid', 'to', 'body'] });
  const e2eSend = fc.oneof(
    fc.record({ t: fc.constant('send'), cid, to: user, kind: fc.constant('e2e'), bodies }),
    fc.record({ t: fc.constant('send'), cid, to: gid.map((g) => `g:${g}`), body, kind: fc.constant('e2e'), members: fc.stringMatching(/^[A-Za-z0-9_-]{16}$/) }),
  );
  return {
    hello: fc.record({ t: fc.constant('hello'), token }),
    send: fc.oneof({ weight: 3, arbitrary: send }, { weight: 1, arbitrary: e2eSend }),
    recv: fc.record({ t: fc.constant('recv'), ids: fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }) }),
    read: fc.record({ t: fc.constant('read'), conv: fc.oneof(user.map((u) => `d:${u}:${ctx.users[0]}`), gid.map((g) => `g:${g}`)), upTo: fc.nat() }),
    typing: fc.record({ t: fc.constant('typing'), to }),
    'presence.sub': fc.record({ t: fc.constant('presence.sub'), users }),
    'group.create': fc.record({ t: fc.constant('group.create'), name: fc.string({ minLength: 1, maxLength: 100 }), members: users, gid, fanout: fc.constantFrom('write', 'read') }, { requiredKeys: ['t', 'name', 'members'] }),
    'group.add': fc.record({ t: fc.constant('group.add'), gid, users }),
    'group.remove': fc.record({ t: fc.constant('group.remove'), gid, users }),
    'group.list': fc.constant({ t: 'group.list' }),
    'group.receipts': fc.record({ t: fc.constant('group.receipts'), gid, seq: fc.nat() }),
    'group.devices': fc.record({ t: fc.constant('group.devices'), gid }),
    'keys.publish': fc.record({ t: fc.constant('keys.publish'), bundle: fc.record({ identityKey: fc.base64String({ maxLength: 44 }), signedPreKey: fc.base64String({ maxLength: 44 }), oneTimeKeys: fc.array(fc.base64String({ maxLength: 44 }), { maxLength: 3 }) }) }),
    'keys.fetch': fc.oneof(fc.record({ t: fc.constant('keys.fetch'), user }), fc.record({ t: fc.constant('keys.fetch'), users: fc.array(user, { minLength: 1, maxLength: 8 }) })),
    'keys.count': fc.constant({ t: 'keys.count' }),
    'keys.distribute': fc.record({ t: fc.constant('keys.distribute'), cid, gid, bodies }),
    ping: fc.constant({ t: 'ping' }),
  };
}

/** One field of a valid frame changed: its value, its presence, or its name. */
function mutate(frame: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.tuple(frame, fc.nat(), fc.nat({ max: 5 }), evilValue(), fc.constantFrom(...PROTO_NAMES)).map(([f, pick, how, evil, proto]) => {
    const keys = Object.keys(f);
    const key = keys[pick % keys.length]!;
    const g: Record<string, unknown> = { ...f };
    switch (how) {
      case 0: g[key] = evil; break;
      case 1: delete g[key]; break;
      case 2: Object.defineProperty(g, proto, { value: evil, enumerable: true, configurable: true, writable: true }); break;
      case 3: g.t = proto; break;
      case 4: return render(g).replace(/^\{/, `{"__proto__":${render(evil)},`);
      case 5: return render(g).replace(/\}$/, `,${JSON.stringify(key)}:${render(evil)}}`);
    }
    return render(g);
  });
}

/** Nesting `depth` deep in a field that takes an object or array, or as the whole frame. */
function deep(): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(10, 100, 1000, 5000, 10_000), fc.nat({ max: 3 })).map(([d, how]) => {
    if (how === 0) return `{"t":"keys.publish","bundle":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`;
    if (how === 1) return `{"t":"recv","ids":${'['.repeat(d)}${']'.repeat(d)}}`;
    if (how === 2) return `${'['.repeat(d)}${']'.repeat(d)}`;
    return `{"t":"presence.sub","users":${'{"users":'.repeat(d)}[]${'}'.repeat(d)}}`;
  });
}

/** Bytes that are not valid UTF-8, inside an otherwise valid frame. */
function badUtf8(): fc.Arbitrary<FuzzFrame> {
  const bad = fc.constantFrom([0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xc3]);
  return bad.map((b) => ({ data: Buffer.concat([Buffer.from('{"t":"ping","x":"'), Buffer.from(b), Buffer.from('"}')]), binary: false }));
}

function oversize(): fc.Arbitrary<FuzzFrame> {
  return fc.constantFrom(64 * 1024 + 1, 100 * 1024, 128 * 1024 + 1, 200 * 1024).map((n) => ({ data: `{"t":"send","cid":"big","to":"x","body":"${'x'.repeat(n)}"}`, binary: false }));
}

/** Text that is not a JSON object with a string `t`. */
function notFrames(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('', ' ', 'null', '[]', '{}', '"ping"', '1', 'true', '{"t":null}', '{"t":1}', '{"t":{}}', '{"t":["ping"]}', '{"t":"ping"', '{"t":"ping"}x', '\uFEFF{"t":"ping"}', '{"t":"PING"}', '{"t":"ping\\u0000"}', '{"t":"ping","t":"send"}', '{"t":"__proto__"}', '{"__proto__":{"t":"ping"}}'),
    fc.string({ maxLength: 50, unit: 'binary' }),
    fc.json({ maxDepth: 3 }),
    fc.constantFrom(...PROTO_NAMES).map((p) => `{"t":${JSON.stringify(p)}}`),
    fc.tuple(fc.constantFrom(...FRAME_TYPES), fc.constantFrom(...PROTO_NAMES)).map(([t, p]) => `{"t":"${t}",${JSON.stringify(p)}:null}`),
  );
}

/** The frame mix; weights per 1,000 frames. */
export function fuzzFrame(ctx: FrameContext): fc.Arbitrary<FuzzFrame> {
  const valid = validFrames(ctx);
  const anyValid = fc.oneof(...Object.values(valid));
  const text = (a: fc.Arbitrary<string>): fc.Arbitrary<FuzzFrame> => a.map((data) => ({ data, binary: false }));
  return fc.oneof(
    { weight: 300, arbitrary: text(anyValid.map(render)) },
    { weight: 400, arbitrary: text(mutate(anyValid)) },
    { weight: 150, arbitrary: text(notFrames()) },
    { weight: 20, arbitrary: text(deep()) },
    { weight: 40, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ data: Buffer.from(b), binary: true })) },
    { weight: 10, arbitrary: text(anyValid.map(render)).map((f) => ({ ...f, binary: true })) },
    { weight: 20, arbitrary: badUtf8() },
    { weight: 2, arbitrary: oversize() },
  );
}

/** A deterministic stream of frames: batches drawn from `seed`, `seed + 1`, … */
export class FrameSource {
  private batch: FuzzFrame[] = [];
  private next = 0;
  private readonly arb: fc.Arbitrary<FuzzFrame>;

  constructor(ctx: FrameContext, private seed: number, private readonly batchSize = 500) {
    this.arb = fuzzFrame(ctx);
  }

  take(): FuzzFrame {
    if (this.next >= this.batch.length) {
      this.batch = fc.sample(this.arb, { seed: this.seed++, numRuns: this.batchSize });
      this.next = 0;
    }
    return this.batch[this.next++]!;
  }
}

/** What the report shows of a frame: its first characters, or its size when binary. */
export function describeFrame(f: FuzzFrame): string {
  if (f.binary) return `binary frame of ${f.data.length} bytes`;
  if (typeof f.data !== 'string') return `text frame with invalid UTF-8: ${JSON.stringify(f.data.toString('latin1').slice(0, 60))}`;
  return f.data.length > 120 ? `${f.data.slice(0, 100)}… (${f.data.length} chars)` : f.data;
}
