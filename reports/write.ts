/**
 * Writes a run's outputs to one folder: report.json (CI gates on it),
 * report.html (a person reads it) and summary.md (pastes into a PR).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from './report.ts';
import { renderHtml } from './render-html.ts';
import { renderMarkdown } from './render-markdown.ts';

export interface WrittenReports {
  json: string;
  html: string;
  md: string;
}

export function writeReports(report: Report, outDir: string): WrittenReports {
  mkdirSync(outDir, { recursive: true });
  const paths = { json: join(outDir, 'report.json'), html: join(outDir, 'report.html'), md: join(outDir, 'summary.md') };
  writeFileSync(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(paths.html, renderHtml(report));
  writeFileSync(paths.md, renderMarkdown(report));
  return paths;
}

/** Reads a report.json back (for compare and re-rendering); checks it is one. */
export function readReport(path: string): Report {
  const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
  if (typeof report !== 'object' || report === null || typeof report.schemaVersion !== 'number' || !report.delivery) {
    throw new Error(`${path}: not a chatlab report.json`);
  }
  return report;
}
