import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CloseCodes, ErrorCodes } from './errors.ts';
import { FrameError, clientFrameTypes, parseClientFrame } from './parse.ts';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

/** Device → node examples: fenced blocks whose info string is `json client`, one frame per block. */
function clientExamples(): string[] {
  return [...doc.matchAll(/^```json client\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!.trim());
}

/** The body of the section under `## <title>`, up to the next `## `. */
function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `docs/protocol.md has a "## ${title}" section`);
  const end = doc.indexOf('\n## ', start + 4);
  return doc.slice(start, end < 0 ? undefined : end);
}

describe('docs/protocol.md', () => {
  it('describes every frame type the node accepts under its own heading, with an example', () => {
    const examples = clientExamples().map((e) => (JSON.parse(e) as { t: string }).t);
    for (const t of clientFrameTypes()) {
      assert.match(doc, new RegExp(`^### .*\`${t.replace('.', '\\.')}\``, 'm'), `a heading for ${t}`);
      assert.ok(examples.includes(t), `an example of ${t}`);
    }
  });

  it('has device → node examples that the node accepts as written', () => {
    const examples = clientExamples();
    assert.ok(examples.length >= clientFrameTypes().length);
    for (const text of examples) {
      const frame = parseClientFrame(text);
      assert.ok(!(frame instanceof FrameError), `${text.slice(0, 60)}: ${(frame as FrameError).message}`);
    }
  });

  it('lists every error code and every close code', () => {
    const errors = section('Errors');
    for (const code of Object.keys(ErrorCodes)) assert.ok(errors.includes(`\`${code}\``), `error ${code}`);
    const closes = section('Close codes');
    for (const [name, code] of Object.entries(CloseCodes)) {
      if (code === CloseCodes.normal) continue; // the node never closes with 1000; devices do
      assert.match(closes, new RegExp(`^\\| ${code} \\|`, 'm'), `close ${name} (${code})`);
    }
  });

  it('keeps a Limits section for the limits of every kind of work', () => {
    assert.match(section('Limits'), /64 KiB/);
  });
});
