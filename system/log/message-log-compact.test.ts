import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { CompactMessageLog } from './message-log-compact.ts';
import { MemoryMessageLog } from './message-log-memory.ts';
import { runMessageLogSuite } from './message-log.suite.ts';
import type { StoredMessage } from './message-log.ts';

runMessageLogSuite('compact', async () => ({ ...virtualHarness(), log: new CompactMessageLog() }));

const msg = (seq: number): StoredMessage => ({ conv: 'c', seq, mid: `m${seq}`, from: 'a.1', frame: 'f', ts: seq });

describe('CompactMessageLog', () => {
  it('pages exactly as the plain reference log does, for any appends', async () => {
    const append = fc.record({
      conv: fc.constantFrom('d:a:b', 'g:x', 'c'),
      seq: fc.integer({ min: 1, max: 40 }),
      mid: fc.oneof(fc.stringMatching(/^[0-9a-f]{18}$/), fc.string({ maxLength: 20 })),
      from: fc.constantFrom('a.1', 'b.2', 'c.3'),
      body: fc.string({ maxLength: 60 }),
      envelope: fc.boolean(),
      ts: fc.double({ min: 0, max: 2e12, noNaN: true }),
    });
    const page = fc.record({ conv: fc.constantFrom('d:a:b', 'g:x', 'c', 'none'), afterSeq: fc.integer({ min: 0, max: 41 }), limit: fc.integer({ min: 0, max: 50 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(append, { maxLength: 120 }), fc.array(page, { maxLength: 20 }), async (appends, pages) => {
        const compact = new CompactMessageLog();
        const reference = new MemoryMessageLog();
        for (const { body, envelope, ...a } of appends) {
          // Half the frames carry the node's envelope, which the compact log stores apart.
          const frame = envelope ? JSON.stringify({ t: 'msg', mid: a.mid, seq: a.seq, conv: a.conv, from: a.from, body }) : body;
          await compact.append({ ...a, frame });
          await reference.append({ ...a, frame });
        }
        for (const p of pages) assert.deepEqual(await compact.page(p.conv, p.afterSeq, p.limit), await reference.page(p.conv, p.afterSeq, p.limit));
      }),
      { numRuns: 200 },
    );
  });

  it('stores nothing when an armed append fails', async () => {
    const faults = new FaultSwitch();
    const log = new CompactMessageLog({ faults });
    faults.failNext('append');
    await assert.rejects(log.append(msg(1)), { code: 'unavailable' });
    assert.deepEqual(await log.page('c', 0, 10), []);
  });

  it('appends and pages a long history quickly', async function () {
    this.timeout(2500); // a page linear in the history length would take several seconds here
    const log = new CompactMessageLog();
    const n = 200_000;
    for (let s = 1; s <= n; s++) await log.append(msg(s));
    for (let i = 0; i < 20_000; i++) {
      const after = (i * 17) % n;
      const page = await log.page('c', after, 50);
      assert.equal(page[0]!.seq, after + 1);
    }
  });

  it('gives back node mids, odd mids, senders and frames exactly, across column chunks', async () => {
    const log = new CompactMessageLog();
    const convs = ['d:a:b', 'd:c:d', 'g:x'];
    const sent: StoredMessage[] = [];
    for (let i = 0; i < 9_000; i++) {
      const conv = convs[i % 3]!;
      const seq = Math.floor(i / 3) + 1;
      // Leading zeros and both halves' extremes of an 18-hex mid, and now and then a mid of another form.
      const mid = i % 500 === 7 ? `odd-${i}` : (i * 2654435761).toString(16).padStart(18, '0').slice(-18).replace(/^./, i % 2 ? '0' : 'f');
      const m = { conv, seq, mid, from: `u${i % 5}.1`, frame: `{"t":"msg","i":${i}}`, ts: 1_767_225_600_000.25 + i };
      sent.push(m);
      await log.append({ ...m });
    }
    for (const conv of convs) {
      const want = sent.filter((m) => m.conv === conv);
      assert.deepEqual(await log.page(conv, 0, 10_000), want);
      assert.deepEqual(await log.page(conv, 1_500, 2), want.slice(1_500, 1_502));
    }
  });

  it('keeps a one-message conversation idempotent and ordered when an earlier seq comes late', async () => {
    const log = new CompactMessageLog();
    await log.append(msg(5));
    await log.append({ ...msg(5), frame: 'other' });
    assert.deepEqual(await log.page('c', 0, 10), [msg(5)]);
    assert.deepEqual(await log.page('c', 5, 10), []);
    await log.append(msg(3));
    await log.append(msg(4));
    await log.append(msg(3));
    assert.deepEqual(await log.page('c', 0, 10), [msg(3), msg(4), msg(5)]);
  });

  it('gives back frames written with the node envelope exactly, unicode and lone surrogates included', async () => {
    const log = new CompactMessageLog();
    const bodies = ['plain', 'ünïcødé ✓ "q" \\ 😀', 'lone \ud800 surrogate', '', 'x'.repeat(3_000)];
    const sent: StoredMessage[] = [];
    for (let i = 0; i < 2_000; i++) {
      const conv = i % 2 ? 'd:alice:bob' : 'g:"quoted"';
      const mid = (0x18c00000000 + i).toString(16).padStart(11, '0') + '001' + (i & 0xffff).toString(16).padStart(4, '0');
      const from = i % 3 ? 'alice.1' : 'bob.2';
      const seq = i + 1;
      const ts = 1_767_225_600_000.5 + i;
      const body = bodies[i % bodies.length]!;
      // The node's frame; every 7th one with another envelope, which is kept as it is.
      const frame = i % 7 ? JSON.stringify({ t: 'msg', mid, seq, conv, from, body, ts, cid: i.toString(36) }) : JSON.stringify({ t: 'msg', seq, mid, body });
      const withLone = i % 11 === 0 ? frame.replace('}', `,"raw":"\ud800${String.fromCharCode(0xd800)}"}`) : frame;
      const m = { conv, seq, mid, from, frame: withLone, ts };
      sent.push(m);
      await log.append(m);
    }
    for (const conv of ['d:alice:bob', 'g:"quoted"']) assert.deepEqual(await log.page(conv, 0, 5_000), sent.filter((m) => m.conv === conv));
  });

  it('keeps a frame larger than an arena chunk, and the frames around it', async () => {
    const log = new CompactMessageLog();
    const sent: StoredMessage[] = [];
    for (const [i, size] of [[1, 900_000], [2, 1_500_000], [3, 10], [4, 200_000]] as const) {
      const mid = `0000018c000001000${i}`;
      const frame = JSON.stringify({ t: 'msg', mid, seq: i, conv: 'c', from: 'a.1', body: 'b'.repeat(size), ts: i });
      sent.push({ conv: 'c', seq: i, mid, from: 'a.1', frame, ts: i });
      await log.append(sent[sent.length - 1]!);
    }
    assert.deepEqual(await log.page('c', 0, 10), sent);
  });

  it('stores bodies that share their start in a few bytes each, and gives every frame back exactly', async () => {
    const log = new CompactMessageLog();
    // A filler with surrogate pairs at many offsets, so shared prefixes end inside some of them.
    const filler = Array.from({ length: 400 }, (_, i) => (i % 37 === 5 ? '😀' : String.fromCharCode(97 + (i % 26)))).join('');
    let x = 7;
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
    const sent: StoredMessage[] = [];
    for (let i = 0; i < 3_000; i++) {
      const mid = (0x18c00000000 + i).toString(16).padStart(11, '0') + '002' + (i & 0xffff).toString(16).padStart(4, '0');
      const random = i % 10 === 9;
      const body = random ? Array.from({ length: 20 + (next() % 300) }, () => String.fromCharCode(32 + (next() % 90))).join('') : filler.slice(0, 20 + (next() % 380));
      const conv = `d:u${i % 50}:v`;
      const frame = JSON.stringify({ t: 'msg', mid, seq: i + 1, conv, from: 'u.1', body, ts: 1_767_225_600_000 + i * 0.1, cid: i.toString(36) });
      sent.push({ conv, seq: i + 1, mid, from: 'u.1', frame, ts: 1_767_225_600_000 + i * 0.1 });
      await log.append(sent[sent.length - 1]!);
    }
    for (let c = 0; c < 50; c++) assert.deepEqual(await log.page(`d:u${c}:v`, 0, 100), sent.filter((m) => m.conv === `d:u${c}:v`));
    // The random tenth costs its length (~170 bytes); the filler bodies a few dozen bytes each.
    assert.ok(log.arenaBytes < 3_000 * 70, `${log.arenaBytes} bytes`);
  });
});
