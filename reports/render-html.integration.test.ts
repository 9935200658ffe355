/**
 * Opens report.html in headless Chromium (apt package `chromium`) and checks
 * that every chart actually drew, including the fault-marker plugin, and
 * that the page needs no network. Leaves a screenshot at /tmp/report.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeReports } from './write.ts';
import { sampleReport } from './sample-history.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

interface CanvasState {
  id: string;
  hasChart: boolean;
  inked: number;
  width: number;
}

/** Per canvas: whether a Chart instance owns it and how many pixels are not transparent. */
function inspectCanvases(): CanvasState[] {
  const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): unknown } }).Chart;
  return [...document.querySelectorAll('canvas')].map((canvas) => {
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) inked++;
    return { id: canvas.id, hasChart: Chart.getChart(canvas) !== undefined, inked, width: canvas.width };
  });
}

/** Red-ish pixels inside the latency chart: the fault marker band and lines. */
function faultPixels(): number {
  const canvas = document.getElementById('chart-latency') as HTMLCanvasElement;
  const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  let red = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] > 180 && data[i + 1] < 60 && data[i + 2] < 60 && data[i + 3] > 150) red++;
  return red;
}

describe('report.html in headless Chromium', function () {
  let browser: Browser;
  let page: Page;
  let dir: string;
  const errors: string[] = [];
  const requests: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install -y chromium (see scripts/provision.sh)`);
    dir = mkdtempSync(join(tmpdir(), 'report-html-'));
    const out = writeReports(sampleReport(), dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
    await page.goto(pathToFileURL(out.html).href);
    await page.waitForFunction(() => (window as unknown as { chatlabCharts?: unknown[] }).chatlabCharts?.length === 4);
  });

  after(async function () {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('draws all four charts without script errors or network requests', async function () {
    const canvases = await page.evaluate(inspectCanvases);
    assert.deepEqual(canvases.map((c) => c.id), ['chart-latency', 'chart-throughput', 'chart-connected', 'chart-histogram']);
    for (const c of canvases) {
      assert.ok(c.hasChart, `${c.id} has a Chart instance`);
      assert.ok(c.width > 100, `${c.id} was laid out`);
      assert.ok(c.inked > 2000, `${c.id} has drawn pixels (${c.inked})`);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
  });

  it('plots the data series and marks the faults on the time charts', async function () {
    const series = await page.evaluate(() => {
      const charts = (window as unknown as { chatlabCharts: { data: { datasets: { data: unknown[] }[] } }[] }).chatlabCharts;
      return charts.map((c) => c.data.datasets.map((d) => d.data.length));
    });
    assert.ok(series[0][0] >= 60 && series[1][1] >= 60, 'a point per second of the run');
    assert.ok(series[3][0] > 5, 'histogram has bins');
    const red = await page.evaluate(faultPixels);
    assert.ok(red > 300, `fault markers drawn on the latency chart (${red} red pixels)`);
  });

  it('shows the verdict and the tables, and saves a screenshot', async function () {
    assert.match((await page.textContent('header.banner')) ?? '', /FAILED \(1 of 5 thresholds\)/);
    assert.equal(await page.locator('tr.fail').count(), 1);
    assert.ok((await page.locator('table').count()) >= 5);
    await page.screenshot({ path: '/tmp/report.png', fullPage: true });
  });
});
