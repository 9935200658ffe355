/**
 * What docs/protocol.md promises a device may see: the error codes of its
 * "Errors and limits" table, every close code it names, and the server frame
 * types it shows (`welcome {…}`, `ack {…}`, …). The fuzzer judges answers
 * against this file, not against the code: an answer the document does not
 * name is a broken promise even when the code meant it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Documented {
  errorCodes: Set<string>;
  closeCodes: Set<number>;
  serverFrames: Set<string>;
}

export const PROTOCOL_DOC = fileURLToPath(new URL('../../docs/protocol.md', import.meta.url));

export function readDocumented(file = PROTOCOL_DOC): Documented {
  return parseDocumented(readFileSync(file, 'utf8'));
}

export function parseDocumented(md: string): Documented {
  return { errorCodes: errorCodes(md), closeCodes: closeCodes(md), serverFrames: serverFrames(md) };
}

/** First cells of the table whose header's first cell is `code`: every backticked word in them. */
function errorCodes(md: string): Set<string> {
  const out = new Set<string>();
  let inTable = false;
  for (const line of md.split('\n')) {
    const cells = line.trim().startsWith('|') ? line.split('|').slice(1, -1).map((c) => c.trim()) : undefined;
    if (!cells) {
      inTable = false;
      continue;
    }
    if (/^code$/i.test(cells[0] ?? '')) {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(cells[0] ?? '')) continue;
    for (const m of (cells[0] ?? '').matchAll(/`([a-z_]+)`/g)) out.add(m[1]!);
  }
  return out;
}

/** Every 1xxx/4xxx number in a sentence or table row that speaks of closing, and the first column of the "Close codes" section's table. */
function closeCodes(md: string): Set<number> {
  const out = new Set<number>();
  for (const chunk of sentences(md)) {
    if (!/clos/i.test(chunk)) continue;
    for (const m of chunk.matchAll(/\b([14]\d{3})\b/g)) out.add(Number(m[1]));
  }
  const section = /^## Close codes\n([\s\S]*?)(?=^## )/m.exec(md)?.[1] ?? '';
  for (const m of section.matchAll(/^\| *([14]\d{3}) *\|/gm)) out.add(Number(m[1]));
  return out;
}

/** Table rows one by one; prose joined into paragraphs and cut into sentences. */
function sentences(md: string): string[] {
  const out: string[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length > 0) out.push(...para.join(' ').split(/(?<=\.)\s+(?=[A-Z`])/));
    para = [];
  };
  for (const line of md.split('\n')) {
    if (line.trim().startsWith('|')) {
      flush();
      out.push(line);
    } else if (line.trim() === '') flush();
    else para.push(line.trim());
  }
  flush();
  return out;
}

/** Frame names written as `name {fields}` in the document. */
function serverFrames(md: string): Set<string> {
  const out = new Set<string>();
  for (const m of md.matchAll(/`([a-z][a-z.]*) \{[^`]*\}`/g)) out.add(m[1]!);
  return out;
}
