import assert from 'node:assert/strict';
import { ProtocolLimits } from './frames.ts';
import { FrameError, parseClientFrame, validateClientFrame } from './parse.ts';

/** A base64url ciphertext of `n` characters. */
const ct = (n = 24) => 'Q'.repeat(n);

/** The error a frame gets (code and cid), or 'ok'. */
function answer(frame: object): string {
  const r = parseClientFrame(JSON.stringify(frame));
  return r instanceof FrameError ? r.code : 'ok';
}

describe('End-to-end frame validation', () => {
  describe('send with bodies (direct e2e)', () => {
    const e2e = (over: object = {}) => ({ t: 'send', cid: 'c1', to: 'bob', kind: 'e2e', bodies: { 'bob.1': ct(), 'bob.2': ct(), 'alice.2': ct() }, ...over });

    it('accepts per-device bodies without a body, and with one', () => {
      assert.equal(answer(e2e()), 'ok');
      assert.equal(answer(e2e({ body: '' })), 'ok');
      assert.equal(answer(e2e({ bodies: Object.fromEntries(Array.from({ length: ProtocolLimits.maxSendBodies }, (_, i) => [`bob.${i + 1}`, ct()])) })), 'ok');
    });

    it('refuses a direct e2e send without bodies, and bodies where they mean nothing', () => {
      const cases: [string, object][] = [
        ['a direct e2e send without bodies', { t: 'send', cid: 'c1', to: 'bob', body: 'x', kind: 'e2e' }],
        ['bodies on a text send', e2e({ kind: 'text', body: 'x' })],
        ['bodies on a send without kind', e2e({ kind: undefined, body: 'x' })],
        ['bodies on a group send', e2e({ to: 'g:team', members: 'v1' })],
        ['members on a direct send', e2e({ members: 'v1' })],
        ['a text send without body', { t: 'send', cid: 'c1', to: 'bob' }],
      ];
      for (const [what, frame] of cases) assert.equal(answer(frame), 'bad_frame', what);
    });

    it('refuses bodies of the wrong shape', () => {
      const cases: [string, unknown][] = [
        ['an array', [ct()]],
        ['a string', ct()],
        ['an empty object', {}],
        ['a key that is a user, not a device', { bob: ct() }],
        ['a key with device 0', { 'bob.0': ct() }],
        ['a __proto__ key', JSON.parse(`{"__proto__":"${ct()}"}`)],
        ['an empty ciphertext', { 'bob.1': '' }],
        ['a ciphertext that is not base64url', { 'bob.1': 'a+b/' }],
        ['padded base64', { 'bob.1': 'QQ==' }],
        ['a ciphertext that is a number', { 'bob.1': 7 }],
        ['too many entries', Object.fromEntries(Array.from({ length: ProtocolLimits.maxSendBodies + 1 }, (_, i) => [`bob.${i + 1}`, ct()]))],
      ];
      for (const [what, bodies] of cases) assert.equal(answer(e2e({ bodies })), 'bad_frame', what);
    });

    it('answers too_large for one body over maxBodyBytes, and for bodies over a frame in all (a frame object has no bytes to measure)', () => {
      const one = parseClientFrame(JSON.stringify(e2e({ bodies: { 'bob.1': ct(ProtocolLimits.maxBodyBytes + 4) } }))) as FrameError;
      assert.equal(one.code, 'too_large');
      assert.equal(one.cid, 'c1');
      const half = ct(ProtocolLimits.maxFrameBytes / 2);
      const all = validateClientFrame(e2e({ bodies: { 'bob.1': half, 'bob.2': half, 'bob.3': ct() } })) as FrameError;
      assert.equal(all.code, 'too_large');
      assert.equal(answer(e2e({ bodies: { 'bob.1': half, 'bob.2': half } })), 'too_large', 'the whole frame is over 64 KiB');
    });

    it('carries the cid on a refused e2e send', () => {
      assert.equal((parseClientFrame(JSON.stringify(e2e({ bodies: { bob: ct() } }))) as FrameError).cid, 'c1');
    });
  });

  describe('send to a group with members', () => {
    it('requires members on a group e2e send and accepts it on any group send', () => {
      assert.equal(answer({ t: 'send', cid: 'c', to: 'g:team', body: 'x', kind: 'e2e', members: 'AbC-_9' }), 'ok');
      assert.equal(answer({ t: 'send', cid: 'c', to: 'g:team', body: 'x', members: 'AbC-_9' }), 'ok');
      assert.equal(answer({ t: 'send', cid: 'c', to: 'g:team', body: 'x' }), 'ok', 'a non-e2e group send needs no version');
      assert.equal(answer({ t: 'send', cid: 'c', to: 'g:team', body: 'x', kind: 'e2e' }), 'bad_frame');
      assert.equal(answer({ t: 'send', cid: 'c', to: 'g:team', body: 'x', kind: 'e2e', members: '' }), 'bad_frame');
      assert.equal(answer({ t: 'send', cid: 'c', to: 'g:team', body: 'x', kind: 'e2e', members: 7 }), 'bad_frame');
    });
  });

  describe('keys.fetch, keys.count', () => {
    it('takes exactly one of user and users, users being 1..100 user ids', () => {
      assert.equal(answer({ t: 'keys.fetch', user: 'bob' }), 'ok');
      assert.equal(answer({ t: 'keys.fetch', users: ['bob', 'carol'] }), 'ok');
      assert.equal(answer({ t: 'keys.fetch', users: Array.from({ length: ProtocolLimits.maxKeysFetchUsers }, (_, i) => `u${i}`) }), 'ok');
      const cases: [string, object][] = [
        ['neither', { t: 'keys.fetch' }],
        ['both', { t: 'keys.fetch', user: 'bob', users: ['carol'] }],
        ['no users', { t: 'keys.fetch', users: [] }],
        ['users as a string', { t: 'keys.fetch', users: 'bob' }],
        ['a bad user id', { t: 'keys.fetch', users: ['bob', 'a b'] }],
        ['too many users', { t: 'keys.fetch', users: Array.from({ length: ProtocolLimits.maxKeysFetchUsers + 1 }, (_, i) => `u${i}`) }],
      ];
      for (const [what, frame] of cases) assert.equal(answer(frame), 'bad_frame', what);
    });

    it('accepts keys.count without fields', () => {
      assert.equal(answer({ t: 'keys.count' }), 'ok');
    });
  });

  describe('group.devices, keys.distribute', () => {
    it('takes a gid', () => {
      assert.equal(answer({ t: 'group.devices', gid: 'team' }), 'ok');
      assert.equal(answer({ t: 'group.devices' }), 'bad_frame');
      assert.equal(answer({ t: 'group.devices', gid: 'g:team' }), 'bad_frame');
    });

    it('takes a cid, a gid and device bodies, and gives a refusal its cid', () => {
      const ok = { t: 'keys.distribute', cid: 'k1', gid: 'team', bodies: { 'bob.1': ct(), 'carol.3': ct() } };
      assert.equal(answer(ok), 'ok');
      const cases: [string, object][] = [
        ['no cid', { ...ok, cid: undefined }],
        ['no gid', { ...ok, gid: undefined }],
        ['no bodies', { ...ok, bodies: undefined }],
        ['empty bodies', { ...ok, bodies: {} }],
        ['a user key', { ...ok, bodies: { bob: ct() } }],
        ['too many bodies', { ...ok, bodies: Object.fromEntries(Array.from({ length: ProtocolLimits.maxDistributeBodies + 1 }, (_, i) => [`u${i}.1`, 'QQ'])) }],
      ];
      for (const [what, frame] of cases) assert.equal(answer(frame), 'bad_frame', what);
      const refused = parseClientFrame(JSON.stringify({ ...ok, gid: 'a b' })) as FrameError;
      assert.equal(refused.cid, 'k1');
      const big = parseClientFrame(JSON.stringify({ ...ok, bodies: { 'bob.1': ct(ProtocolLimits.maxBodyBytes + 4) } })) as FrameError;
      assert.equal(big.code, 'too_large');
      assert.equal(big.cid, 'k1');
    });
  });

  describe('keys.introduce', () => {
    it('takes a cid and device bodies, and gives a refusal its cid', () => {
      const ok = { t: 'keys.introduce', cid: 'i1', bodies: { 'bob.1': ct(), 'alice.2': ct() } };
      assert.equal(answer(ok), 'ok');
      const cases: [string, object][] = [
        ['no cid', { ...ok, cid: undefined }],
        ['no bodies', { ...ok, bodies: undefined }],
        ['empty bodies', { ...ok, bodies: {} }],
        ['a user key', { ...ok, bodies: { bob: ct() } }],
        ['an empty body', { ...ok, bodies: { 'bob.1': '' } }],
        ['too many bodies', { ...ok, bodies: Object.fromEntries(Array.from({ length: ProtocolLimits.maxIntroduceBodies + 1 }, (_, i) => [`u${i}.1`, 'QQ'])) }],
      ];
      for (const [what, frame] of cases) assert.equal(answer(frame), 'bad_frame', what);
      const refused = parseClientFrame(JSON.stringify({ ...ok, bodies: { bob: ct() } })) as FrameError;
      assert.equal(refused.cid, 'i1');
      const big = parseClientFrame(JSON.stringify({ ...ok, bodies: { 'bob.1': ct(ProtocolLimits.maxBodyBytes + 4) } })) as FrameError;
      assert.equal(big.code, 'too_large');
      assert.equal(big.cid, 'i1');
    });
  });
});
