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

  it('read every row of the Close codes table, whatever its wording', () => {
    const md = ['## Close codes', '', '| code | when |', '|---|---|', '| 1007 | a text frame that is not valid UTF-8 |', '| 4001 | no hello in time |', '', '## Next', '| 1234 | not here |'].join('\n');
    assert.deepEqual([...parseDocumented(md).closeCodes].sort(), [1007, 4001]);
  });

  it('include the codes docs/protocol.md names today', () => {
    const d = readDocumented();
    for (const code of ['bad_frame', 'unknown_type', 'not_ready', 'rate_limited']) assert.ok(d.errorCodes.has(code), code);
    for (const code of [1002, 1007, 1008, 1009, 1011, 4001, 4401, 4408, 4409, 4429]) assert.ok(d.closeCodes.has(code), String(code));
    for (const t of ['welcome', 'ack', 'msg', 'error', 'pong']) assert.ok(d.serverFrames.has(t), t);
  });
});
