import assert from 'node:assert/strict';
import { ProtocolLimits } from './frames.ts';
import { FrameError, clientFrameTypes, parseClientFrame, validateClientFrame } from './parse.ts';

const b64 = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill).toString('base64url');
const bundle = (over: Record<string, unknown> = {}) => ({
  identityKey: b64(33),
  signedPreKey: { id: 1, key: b64(32), signature: b64(64) },
  oneTimePreKeys: [{ id: 100, key: b64(32) }, { id: 101, key: b64(32, 2) }],
  ...over,
});

/** The code of the error a frame gets, or 'ok'. */
function answer(frame: unknown): string {
  const r = typeof frame === 'string' ? parseClientFrame(frame) : parseClientFrame(JSON.stringify(frame));
  return r instanceof FrameError ? r.code : 'ok';
}

describe('Client frame validation', () => {
  it('answers unknown_type, never a throw, for a type named after any member of Object.prototype', () => {
    for (const name of Object.getOwnPropertyNames(Object.prototype)) {
      const r = parseClientFrame(`{"t":${JSON.stringify(name)}}`);
      assert.ok(r instanceof FrameError, name);
      assert.equal(r.code, 'unknown_type', name);
      assert.doesNotMatch(r.message, /\[object|function/, name);
      assert.equal(validateClientFrame({ t: name }) instanceof FrameError, true, name);
    }
  });

  it('quotes at most a short, printable excerpt of an unknown type', () => {
    const r = parseClientFrame(JSON.stringify({ t: `x${'\u0000\n"'.repeat(100)}` })) as FrameError;
    assert.equal(r.code, 'unknown_type');
    assert.ok(r.message.length < 80, r.message);
    assert.match(r.message, /^unknown frame type "x\?{31}…"$/);
  });

  it('refuses what is not a JSON object with a string t', () => {
    for (const text of ['', 'nope', '[]', 'null', '42', '"hello"', '{}', '{"t":7}', '{"t":null}']) assert.equal(answer(text), 'bad_frame', text);
  });

  it('answers unauthorized to a hello without a token or with a token that is not a string', () => {
    for (const token of [undefined, 42, null, {}, ['a'], '', 'x'.repeat(ProtocolLimits.maxTokenChars + 1)]) {
      assert.equal(answer({ t: 'hello', token }), 'unauthorized', JSON.stringify(token));
    }
    assert.equal(answer({ t: 'hello', token: 'abc.def' }), 'ok');
  });

  it('measures a send body in UTF-8 bytes: over 60 KiB is too_large, and the error carries the cid', () => {
    const max = ProtocolLimits.maxBodyBytes;
    assert.equal(answer({ t: 'send', cid: 'c1', to: 'bob', body: 'a'.repeat(max) }), 'ok');
    const r = parseClientFrame(JSON.stringify({ t: 'send', cid: 'c1', to: 'bob', body: 'é'.repeat(max / 2 + 1) })) as FrameError;
    assert.equal(r.code, 'too_large');
    assert.equal(r.cid, 'c1');
    assert.equal(answer({ t: 'send', cid: 'c1', to: 'bob', body: '€'.repeat(Math.floor(max / 3)) }), 'ok');
  });

  it('gives a refused send its cid when the cid itself is usable, and none otherwise', () => {
    const bad = (f: object) => parseClientFrame(JSON.stringify({ t: 'send', ...f })) as FrameError;
    assert.equal(bad({ cid: 'c2', to: 'not a user', body: 'x' }).cid, 'c2');
    assert.equal(bad({ cid: 'c3', to: 'bob', body: 7 }).cid, 'c3');
    assert.equal(bad({ cid: 'c4', to: 'bob', body: 'x', kind: 'video' }).cid, 'c4');
    assert.equal(bad({ cid: 5, to: 'bob', body: 'x' }).cid, undefined);
    assert.equal(bad({ cid: 'x'.repeat(65), to: 'bob', body: 'x' }).cid, undefined);
  });

  it('refuses each malformed field of each frame with bad_frame', () => {
    const cases: [string, object][] = [
      ['send without cid', { t: 'send', to: 'bob', body: 'x' }],
      ['send to a bad target', { t: 'send', cid: 'c', to: 'g:', body: 'x' }],
      ['recv with no ids', { t: 'recv', ids: [] }],
      ['recv with a number', { t: 'recv', ids: [1] }],
      ['recv with too many ids', { t: 'recv', ids: Array.from({ length: ProtocolLimits.maxIdsPerRecv + 1 }, (_, i) => `m${i}`) }],
      ['read with upTo 1e300', { t: 'read', conv: 'd:alice:bob', upTo: 1e300 }],
      ['read with a fractional upTo', { t: 'read', conv: 'd:alice:bob', upTo: 1.5 }],
      ['read with upTo 0', { t: 'read', conv: 'd:alice:bob', upTo: 0 }],
      ['read with a string upTo', { t: 'read', conv: 'd:alice:bob', upTo: '3' }],
      ['read of an unsorted direct conversation', { t: 'read', conv: 'd:bob:alice', upTo: 1 }],
      ['read of no conversation', { t: 'read', conv: 'alice', upTo: 1 }],
      ['typing to nobody', { t: 'typing' }],
      ['presence.sub of a string', { t: 'presence.sub', users: 'alice' }],
      ['group.create with a long name', { t: 'group.create', name: 'é'.repeat(101), members: [] }],
      ['group.create with a bad fanout', { t: 'group.create', name: 'g', members: [], fanout: 'both' }],
      ['group.add of no one', { t: 'group.add', gid: 'g1', users: [] }],
      ['group.remove with a bad gid', { t: 'group.remove', gid: 'g 1', users: ['bob'] }],
      ['group.receipts with seq -1', { t: 'group.receipts', gid: 'g1', seq: -1 }],
      ['keys.fetch of a bad user', { t: 'keys.fetch', user: '../x' }],
      ['hello with a non-boolean resume', { t: 'hello', token: 'a.b', resume: 'yes' }],
    ];
    for (const [what, frame] of cases) assert.equal(answer(frame), 'bad_frame', what);
  });

  it('names the field and the rule, not the value', () => {
    const r = parseClientFrame(JSON.stringify({ t: 'read', conv: 'd:alice:bob', upTo: { secret: 'x' } })) as FrameError;
    assert.equal(r.message, 'read: upTo must be an integer in [1, 9007199254740991]');
  });

  it('accepts a pre-key bundle of the documented shape', () => {
    assert.equal(answer({ t: 'keys.publish', bundle: bundle() }), 'ok');
    assert.equal(answer({ t: 'keys.publish', bundle: bundle({ oneTimePreKeys: [] }) }), 'ok');
  });

  it('refuses a pre-key bundle that is not exactly the documented shape', () => {
    const cases: [string, unknown][] = [
      ['a string', 'BBBBBBBB'],
      ['an array', [1, 2]],
      ['an empty object', {}],
      ['a string identity key of the wrong length', bundle({ identityKey: b64(8) })],
      ['standard base64 with padding', bundle({ identityKey: Buffer.alloc(32, 1).toString('base64') })],
      ['an identity key that is an object', bundle({ identityKey: { 0: 'B' } })],
      ['a signed pre-key that is a string', bundle({ signedPreKey: 'BBBB' })],
      ['a signed pre-key without a signature', bundle({ signedPreKey: { id: 1, key: b64(32) } })],
      ['a short signature', bundle({ signedPreKey: { id: 1, key: b64(32), signature: b64(32) } })],
      ['a signed pre-key id past 24 bits', bundle({ signedPreKey: { id: 2 ** 24, key: b64(32), signature: b64(64) } })],
      ['one-time pre-keys as a string', bundle({ oneTimePreKeys: 'BBBB' })],
      ['too many one-time pre-keys', bundle({ oneTimePreKeys: Array.from({ length: 101 }, (_, i) => ({ id: i, key: b64(32) })) })],
      ['a repeated one-time pre-key id', bundle({ oneTimePreKeys: [{ id: 1, key: b64(32) }, { id: 1, key: b64(32) }] })],
      ['a one-time pre-key with a negative id', bundle({ oneTimePreKeys: [{ id: -1, key: b64(32) }] })],
      ['a field the schema does not name', bundle({ extra: 'x' })],
      ['a nested field the schema does not name', bundle({ signedPreKey: { id: 1, key: b64(32), signature: b64(64), note: 'x' } })],
      ['a __proto__ field', JSON.parse(`{"identityKey":"${b64(32)}","signedPreKey":{"id":1,"key":"${b64(32)}","signature":"${b64(64)}"},"oneTimePreKeys":[],"__proto__":{}}`)],
    ];
    for (const [what, b] of cases) assert.equal(answer({ t: 'keys.publish', bundle: b }), 'bad_frame', what);
  });

  it('measures the whole frame in UTF-8 bytes', () => {
    const r = parseClientFrame(`{"t":"ping","pad":"${'é'.repeat(ProtocolLimits.maxFrameBytes / 2)}"}`) as FrameError;
    assert.equal(r.code, 'too_large');
  });

  describe('call frames', () => {
    const call = '0041c8a2b1f0003000a'.slice(0, 18);
    const offer = (over: object = {}) => ({ t: 'call.offer', cid: 'k1', to: ['bob'], media: 'audio', sdp: 'v=0', ...over });

    it('accepts each call frame of the documented shape', () => {
      const ok: object[] = [
        offer(),
        offer({ to: Array.from({ length: ProtocolLimits.maxCallSize - 1 }, (_, i) => `u${i}`), media: 'video' }),
        offer({ sdp: 'é'.repeat(ProtocolLimits.maxSdpBytes / 2) }),
        { t: 'call.ringing', call },
        { t: 'call.answer', call, sdp: 'v=0 answer' },
        { t: 'call.candidate', call, to: 'alice.1', candidate: 'candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host' },
        { t: 'call.candidate', call, to: 'alice.12', candidate: '' },
        { t: 'call.candidate', call, to: 'alice.1', candidate: 'x'.repeat(ProtocolLimits.maxCandidateBytes) },
        { t: 'call.reject', call },
        { t: 'call.busy', call },
        { t: 'call.hangup', call },
      ];
      for (const f of ok) assert.equal(answer(f), 'ok', JSON.stringify(f).slice(0, 80));
    });

    it('refuses each malformed field of each call frame with bad_frame, an offer with its cid', () => {
      const cases: [string, object][] = [
        ['an offer without cid', { t: 'call.offer', to: ['bob'], media: 'audio', sdp: 'v=0' }],
        ['an offer to nobody', offer({ to: [] })],
        ['an offer to a string', offer({ to: 'bob' })],
        ['an offer to a bad user', offer({ to: ['bob', 'x y'] })],
        ['an offer naming a user twice', offer({ to: ['bob', 'carol', 'bob'] })],
        ['an offer past maxCallSize', offer({ to: Array.from({ length: ProtocolLimits.maxCallSize }, (_, i) => `u${i}`) })],
        ['an offer without media', offer({ media: undefined })],
        ['an offer of another media', offer({ media: 'screen' })],
        ['an offer without sdp', offer({ sdp: undefined })],
        ['an offer with an empty sdp', offer({ sdp: '' })],
        ['an offer with an sdp object', offer({ sdp: { type: 'offer' } })],
        ['ringing without call', { t: 'call.ringing' }],
        ['ringing of a short id', { t: 'call.ringing', call: 'abc' }],
        ['ringing of an upper-case id', { t: 'call.ringing', call: call.toUpperCase() }],
        ['an answer without sdp', { t: 'call.answer', call }],
        ['an answer of a numeric call', { t: 'call.answer', call: 12, sdp: 'v=0' }],
        ['a candidate to a user', { t: 'call.candidate', call, to: 'alice', candidate: 'c' }],
        ['a candidate to device 0', { t: 'call.candidate', call, to: 'alice.0', candidate: 'c' }],
        ['a candidate that is an object', { t: 'call.candidate', call, to: 'alice.1', candidate: { candidate: 'c' } }],
        ['a reject without call', { t: 'call.reject' }],
        ['a busy with a bad call', { t: 'call.busy', call: `${call}0` }],
        ['a hangup with a bad call', { t: 'call.hangup', call: null }],
      ];
      for (const [what, frame] of cases) assert.equal(answer(frame), 'bad_frame', what);
      assert.equal((parseClientFrame(JSON.stringify(offer({ to: [] }))) as FrameError).cid, 'k1');
      assert.equal((parseClientFrame(JSON.stringify({ t: 'call.answer', call, sdp: 7, cid: 'k2' })) as FrameError).cid, undefined, 'only an offer is answered by cid');
    });

    it('measures sdp and candidates in UTF-8 bytes: past their limits is too_large', () => {
      const big = offer({ sdp: 'é'.repeat(ProtocolLimits.maxSdpBytes / 2 + 1) });
      const r = parseClientFrame(JSON.stringify(big)) as FrameError;
      assert.deepEqual([r.code, r.cid], ['too_large', 'k1']);
      assert.equal(answer({ t: 'call.answer', call, sdp: 'x'.repeat(ProtocolLimits.maxSdpBytes + 1) }), 'too_large');
      assert.equal(answer({ t: 'call.candidate', call, to: 'bob.1', candidate: 'é'.repeat(ProtocolLimits.maxCandidateBytes / 2 + 1) }), 'too_large');
    });
  });

  it('lists every frame type it accepts', () => {
    assert.deepEqual(clientFrameTypes().sort(), [
      'call.answer', 'call.busy', 'call.candidate', 'call.hangup', 'call.offer', 'call.reject', 'call.ringing',
      'group.add', 'group.create', 'group.devices', 'group.list', 'group.receipts', 'group.remove', 'hello',
      'keys.count', 'keys.distribute', 'keys.fetch', 'keys.introduce', 'keys.publish', 'ping', 'presence.sub', 'read', 'recv', 'send',
      'story.list', 'story.post', 'story.view', 'story.views', 'typing',
    ]);
  });
});
