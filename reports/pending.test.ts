import assert from 'node:assert/strict';
import { renderTerminal } from './render-terminal.ts';
import { renderMarkdown } from './render-markdown.ts';
import { renderHtml } from './render-html.ts';
import { sampleReport } from './sample-history.ts';
import { PENDING_VS_LOST } from './pending.ts';
import type { Report } from './report.ts';

describe('pending beside lost in the renderers', () => {
  const base = sampleReport();
  const age = { ...base.latency.e2eMs, count: 5, p50: 2500, max: 4200 };
  const classified: Report = {
    ...base,
    delivery: { ...base.delivery, classified: 'stores', pending: 5, pendingAgeMs: age, unclassified: 0 },
    paths: { ...base.paths, 'offline-drain': { ...base.paths['offline-drain'], pending: 5, pendingAgeMs: age } },
  };

  it('prints pending next to lost per path, its age and the sentence that tells them apart in the terminal', () => {
    const text = renderTerminal(classified);
    assert.match(text, /^path\s+expected\s+delivered\s+lost\s+pending\s/m);
    assert.match(text, /^offline-drain\s+470\s+469\s+1\s+5\s/m);
    assert.match(text, /^5 pending \(still in an inbox\), age p50 2,500 ms, oldest 4,200 ms\. Pending: acked, not delivered/m);
  });

  it('shows pending and the explanation in Markdown and HTML', () => {
    const md = renderMarkdown(classified);
    assert.match(md, /\| path \| expected \| delivered \| lost \| pending \|/);
    assert.ok(md.includes(PENDING_VS_LOST));
    assert.match(md, /5 pending \(still in an inbox\)/);
    const html = renderHtml(classified);
    assert.match(html, /<div class="v">5<\/div><div class="l">pending<\/div>/);
    assert.match(html, /5 pending \(still in an inbox\), age p50 2,500 ms/);
    assert.ok(html.includes(PENDING_VS_LOST.replace(/'/g, '&#39;')));
  });

  it('says when lost counts every undelivered pair because no store was asked', () => {
    const target: Report = { ...base, world: 'target', delivery: { ...base.delivery, classified: 'none' }, meta: { storeCheck: 'no access' } };
    assert.match(renderTerminal(target), /lost counts every undelivered pair: no store was asked whether it was still in an inbox \(no access\)/);
  });
});
