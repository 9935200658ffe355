import assert from 'node:assert/strict';
import { renderTerminal } from './render-terminal.ts';
import { renderMarkdown } from './render-markdown.ts';
import { renderHtml } from './render-html.ts';
import { chartData } from './html-charts.ts';
import { sampleReport } from './sample-history.ts';
import type { Report } from './report.ts';

describe('renderers: warm-up and dropped iterations', () => {
  const report: Report = { ...sampleReport(), warmupMs: 3000, meta: { droppedIterations: 17 } };
  const sim: Report = { ...sampleReport(), warmupMs: 0, meta: { sim: { droppedIterations: 4 } } };

  it('names the excluded warm-up in the terminal, Markdown and HTML summaries', () => {
    for (const text of [renderTerminal(report), renderMarkdown(report), renderHtml(report)]) assert.match(text, /warm-up 3\.0 s excluded/);
    assert.doesNotMatch(renderTerminal(sim), /warm-up/);
  });

  it('shows dropped iterations in every renderer, from a live or a sim report', () => {
    for (const text of [renderTerminal(report), renderMarkdown(report), renderHtml(report)]) assert.match(text, /17 dropped iterations \(no online sender\)/);
    for (const text of [renderTerminal(sim), renderMarkdown(sim), renderHtml(sim)]) assert.match(text, /4 dropped iterations/);
  });

  it('hands the warm-up to the HTML charts to shade', () => {
    assert.equal(chartData(report).warmup, 3);
    assert.equal(chartData(sim).warmup, 0);
    assert.match(renderHtml(report), /warm-up \(excluded\)/);
  });
});
