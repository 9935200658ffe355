import assert from 'node:assert/strict';
import { retainedPerString } from '../testing/retained.ts';
import { directConversation } from './ids.ts';

describe('conversation ids', () => {
  it('a direct conversation is the same id from either side', () => {
    assert.equal(directConversation('s1-u7', 's1-u12'), 'd:s1-u12:s1-u7');
    assert.equal(directConversation('s1-u12', 's1-u7'), 'd:s1-u12:s1-u7');
  });

  it('is a flat string: kept as a key (sequencer, log), it costs no more than its characters', function () {
    this.timeout(30_000);
    // A template literal this long builds a cons string; kept as a Map key, it holds ~40 B more per conversation.
    const { ours, flat } = retainedPerString('../protocol/ids.ts', "m.directConversation('s1-u' + i, 's1-u' + (i + 500000))");
    assert.ok(ours <= flat + 8, `${ours.toFixed(1)} B per kept id against ${flat.toFixed(1)} B flat`);
  });
});
