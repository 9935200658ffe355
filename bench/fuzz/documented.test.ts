import assert from 'node:assert/strict';
import { parseDocumented, readDocumented } from './documented.ts';

describe('The documented answers', () => {
  it('are read from the error table, the sentences about closing and the frames written as `name {…}`', () => {
    const md = [
      'Answer: `welcome {node}`, then `drained {count}`.',
      '',
      '| code | retryable | when |',
      '|---|---|---|',
      '| `bad_frame` | no | wrong fields |',
      '| `forbidden`, `not_found` | no | groups |',
      '',
      'Three bad frames close the connection with 1008. Close codes: 1001 node',
      'stopping, 4408 slow consumer. Port 8080 is not a close code.',
    ].join('\n');
    const d = parseDocumented(md);
    assert.deepEqual([...d.errorCodes].sort(), ['bad_frame', 'forbidden', 'not_found']);
    assert.deepEqual([...d.closeCodes].sort(), [1001, 1008, 4408]);
    assert.deepEqual([...d.serverFrames].sort(), ['drained', 'welcome']);
  });

  it('include the codes docs/protocol.md names today', () => {
    const d = readDocumented();
    for (const code of ['bad_frame', 'unknown_type', 'not_ready', 'rate_limited']) assert.ok(d.errorCodes.has(code), code);
    for (const code of [1008, 4401, 4408, 4409]) assert.ok(d.closeCodes.has(code), String(code));
    for (const t of ['welcome', 'ack', 'msg', 'error', 'pong']) assert.ok(d.serverFrames.has(t), t);
  });
});
