import assert from 'node:assert/strict';
import { SeededRandom } from '../../../system/random/random.ts';
import { E2eeError } from './contract.ts';
import { E2eeDeviceCrypto } from './device-crypto.ts';
import { b64, fromB64 } from './primitives.ts';

const refusedWith = (...reasons: string[]) => (err: unknown) => err instanceof E2eeError && reasons.includes(err.reason);

/** Members by device id; each gets every other member's distribution (as if sent pairwise). */
function group(ids: string[], options: { maxSkipped?: number } = {}) {
  const members = new Map(ids.map((id) => [id, new E2eeDeviceCrypto(options)]));
  for (const [from, sender] of members) {
    const skdm = sender.senderKeyDistribution('g');
    for (const [to, member] of members) if (to !== from) member.processSenderKeyDistribution(from, 'g', skdm);
  }
  return (id: string) => members.get(id)!;
}

describe('e2ee sender keys', () => {
  it('every member reads every other member, across 3 members', () => {
    const m = group(['a.1', 'b.1', 'c.1']);
    for (let round = 0; round < 5; round++) {
      for (const from of ['a.1', 'b.1', 'c.1']) {
        const ciphertext = m(from).groupEncrypt('g', `${from} says ${round}`);
        for (const to of ['a.1', 'b.1', 'c.1'].filter((x) => x !== from)) assert.equal(m(to).groupDecrypt(from, 'g', ciphertext), `${from} says ${round}`);
      }
    }
  });

  it("out of order within the bound; 'duplicate' for a second copy; 'too_many_skipped' beyond the bound", () => {
    const m = group(['a.1', 'b.1'], { maxSkipped: 8 });
    const sent = Array.from({ length: 8 }, (_, i) => m('a.1').groupEncrypt('g', `m${i}`));
    const random = new SeededRandom(4);
    const order = sent.map((_, i) => i).sort(() => random.next() - 0.5);
    for (const i of order) assert.equal(m('b.1').groupDecrypt('a.1', 'g', sent[i]!), `m${i}`);
    assert.throws(() => m('b.1').groupDecrypt('a.1', 'g', sent[3]!), refusedWith('duplicate'));
    const later = Array.from({ length: 10 }, (_, i) => m('a.1').groupEncrypt('g', `n${i}`));
    assert.throws(() => m('b.1').groupDecrypt('a.1', 'g', later[9]!), refusedWith('too_many_skipped'));
    assert.equal(m('b.1').groupDecrypt('a.1', 'g', later[8]!), 'n8');
    assert.equal(m('b.1').groupDecrypt('a.1', 'g', later[9]!), 'n9');
    assert.equal(m('b.1').groupDecrypt('a.1', 'g', later[0]!), 'n0');
  });

  it('a message is signed by its sender key: a flipped bit, or another sender, is refused', () => {
    const m = group(['a.1', 'b.1', 'c.1']);
    const ciphertext = fromB64(m('a.1').groupEncrypt('g', 'signed'));
    for (const at of [3, ciphertext.length - 70, ciphertext.length - 1]) {
      const tampered = ciphertext.slice();
      tampered[at]! ^= 0x04;
      assert.throws(() => m('b.1').groupDecrypt('a.1', 'g', b64(tampered)), refusedWith('bad_signature', 'no_sender_key'));
    }
    assert.throws(() => m('b.1').groupDecrypt('c.1', 'g', b64(ciphertext)), refusedWith('no_sender_key'));
    assert.equal(m('b.1').groupDecrypt('a.1', 'g', b64(ciphertext)), 'signed');
  });

  it('rotation: a member without the new distribution cannot read on; one added later cannot read what came before', () => {
    const m = group(['a.1', 'b.1', 'c.1']);
    const before = m('a.1').groupEncrypt('g', 'before');
    const inFlight = m('a.1').groupEncrypt('g', 'in flight');
    m('b.1').groupDecrypt('a.1', 'g', before);
    m('a.1').rotateSenderKey('g'); // c.1 left
    const newcomer = new E2eeDeviceCrypto();
    const skdm = m('a.1').senderKeyDistribution('g');
    m('b.1').processSenderKeyDistribution('a.1', 'g', skdm);
    newcomer.processSenderKeyDistribution('a.1', 'g', skdm);

    const after = m('a.1').groupEncrypt('g', 'after');
    assert.equal(m('b.1').groupDecrypt('a.1', 'g', after), 'after');
    assert.equal(newcomer.groupDecrypt('a.1', 'g', after), 'after');
    assert.throws(() => m('c.1').groupDecrypt('a.1', 'g', after), refusedWith('no_sender_key'));
    assert.throws(() => newcomer.groupDecrypt('a.1', 'g', before), refusedWith('no_sender_key'));
    // The previous sender key is kept for what was in flight at the rotation.
    assert.equal(m('b.1').groupDecrypt('a.1', 'g', inFlight), 'in flight');
  });

  it('a member added without a rotation reads from its distribution on, not before', () => {
    const m = group(['a.1', 'b.1']);
    const early = m('a.1').groupEncrypt('g', 'early');
    const newcomer = new E2eeDeviceCrypto();
    newcomer.processSenderKeyDistribution('a.1', 'g', m('a.1').senderKeyDistribution('g'));
    assert.throws(() => newcomer.groupDecrypt('a.1', 'g', early), refusedWith('no_sender_key'));
    assert.equal(newcomer.groupDecrypt('a.1', 'g', m('a.1').groupEncrypt('g', 'late')), 'late');
  });

  it('a repeated distribution does not rewind the chain', () => {
    const m = group(['a.1', 'b.1']);
    const first = m('a.1').groupEncrypt('g', 'first');
    assert.equal(m('b.1').groupDecrypt('a.1', 'g', first), 'first');
    m('b.1').processSenderKeyDistribution('a.1', 'g', m('a.1').senderKeyDistribution('g'));
    assert.throws(() => m('b.1').groupDecrypt('a.1', 'g', first), refusedWith('duplicate'));
  });
});
