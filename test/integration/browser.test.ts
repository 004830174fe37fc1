import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import type { Browser, Locator, Page } from 'playwright-core';
import { fetchReportModel, NotAJobError, registerReport } from '../../cli/commands/report';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import type { ReportModel } from '../../src/report';
import { primesJobSpec, workloadJobSpec } from '../../src/steps';
import { progressQuery, spotdagJob } from '../../workflows';
import { launchChromium, watchPage } from '../support/browser';
import { setTenancy, startTestStack, stopAllInstances, uniqueId } from './helpers';

const ARTIFACTS = path.resolve(__dirname, '../../artifacts');

/** Runs `spotdag report <id> --html <file> --json` as the CLI does, and returns what it printed. */
async function runReportCommand(
  workflowId: string,
  htmlPath: string,
  checkpointStore: string,
): Promise<{ html: string; report: ReportModel }> {
  const program = new Command('spotdag').exitOverride();
  registerReport(program);
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  try {
    await program.parseAsync([
      'node',
      'spotdag',
      'report',
      workflowId,
      '--html',
      htmlPath,
      '--json',
      '--checkpoint-store',
      checkpointStore,
    ]);
  } finally {
    log.mockRestore();
  }
  expect(process.exitCode ?? 0).toBe(0);
  return JSON.parse(printed.join('\n')) as { html: string; report: ReportModel };
}

describe('in a real browser: the Temporal Web UI and the HTML report of a real job', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let browser: Browser;
  const workflowId = uniqueId('browser');
  let interrupted: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    stack = await startTestStack();
    // Primes up to 10^9 in 4 chunks on 2 instances; the first instance gets a spot notice while it
    // counts, so the report has an interruption and a replacement to draw.
    const spec = primesJobSpec(1_000_000_000, { chunks: 4, instances: 2 });
    interrupted = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 3, scheduleToStartTimeoutSeconds: 10 } }],
      });
      await waitFor(
        async () => ((await handle.describe()).raw.pendingChildren?.length ?? 0) >= 2,
        'sub-tasks',
      );
      await new Promise((r) => setTimeout(r, 300));
      const first = (await stack.provisioner.list(workflowId)).find((i) => i.planId === 'i0');
      await stack.provisioner.interrupt(first!.id, 300);
      expect((await handle.result()).result).toBe(50_847_534);
      return first!.id;
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (stack) {
      await stopAllInstances(stack);
      await stack.close();
    }
  });

  /** Tall: the UI scrolls inside its own container, so a full-page screenshot is the viewport. */
  async function newPage(): Promise<Page> {
    return browser.newPage({ viewport: { width: 1400, height: 1500 } });
  }

  it('the Web UI shows the job: the children’s summaries, and phase `done` in its current details', async () => {
    const uiUrl = process.env.TEMPORAL_UI_URL;
    if (!uiUrl)
      throw new Error('TEMPORAL_UI_URL is not set: the global setup starts the dev server with its UI');
    const page = await newPage();
    // The UI's own tab transition sometimes measures an element it has just detached (seen in
    // some runs, whatever the job): an error of the UI's code, not of what it shows.
    const watched = watchPage(page, {
      ignorePageErrors: [/^Failed to execute 'getComputedStyle' on 'Window'/],
    });
    try {
      await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
      // The workflow page opens on its timeline: one row per child, labelled with its static summary.
      await page.getByRole('heading', { name: workflowId }).waitFor({ timeout: 30_000 });
      for (const summary of [
        'count 1/4 · local · localhost · on-demand',
        'count 4/4 · local · localhost · on-demand',
        'total 1/1 · local · localhost · on-demand',
      ]) {
        await page.getByText(summary, { exact: true }).first().waitFor({ timeout: 30_000 });
      }
      await page.screenshot({ path: path.join(ARTIFACTS, 'ui-job.png'), fullPage: true });

      // Current details come from a query that a worker answers, also for a closed workflow.
      await stack.runUntil(async () => {
        await page.getByText('User Metadata', { exact: true }).click();
        const details = page.frameLocator('#user-metadata-current-details');
        const header = await cellTexts(details.locator('thead th'));
        expect(header.slice(0, 2)).toEqual(['phase', 'done']);
        const row = await cellTexts(details.locator('tbody tr').first().locator('td'));
        expect(row[0]).toBe('done');
        // All 5 sub-tasks done (the UI's markdown turns "5/5" into a fraction slash).
        expect(row[1]).toMatch(/^5[/\u2044]5$/);
        await page.screenshot({ path: path.join(ARTIFACTS, 'ui-job-details.png'), fullPage: true });
      });
      expect(watched.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('the Web UI shows a queued job: its place in line and the quota it waits on', async () => {
    const uiUrl = process.env.TEMPORAL_UI_URL!;
    await setTenancy(stack, {
      tenants: [{ name: 'solo', priority: 3, weight: 1, quotas: { maxConcurrentJobs: 1 }, onQuota: 'queue' }],
      fleet: {},
    });
    const spec = {
      ...workloadJobSpec(600, { chunks: 2, instances: 1, input: { unitMs: 100, busy: false } }),
      tenant: 'solo',
    };
    const page = await newPage();
    const watched = watchPage(page, {
      ignorePageErrors: [/^Failed to execute 'getComputedStyle' on 'Window'/],
    });
    try {
      await stack.runUntil(async () => {
        const start = (id: string) =>
          stack.client.workflow.start(spotdagJob, {
            taskQueue: CONTROL_TASK_QUEUE,
            workflowId: id,
            args: [spec],
          });
        const running = await start(uniqueId('ui-running'));
        // Admitted first (the two jobs' requests could otherwise reach the fleet in either order).
        await waitFor(async () => {
          const phase = (await running.query(progressQuery).catch(() => undefined))?.phase;
          return phase === 'allocate' || phase === 'run';
        }, 'the first job admitted');
        const queuedId = uniqueId('ui-queued');
        const queued = await start(queuedId);
        try {
          await waitFor(
            async () => (await queued.query(progressQuery).catch(() => undefined))?.phase === 'queued',
            'the second job queued',
          );
          await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(queuedId)}`);
          await page.getByRole('heading', { name: queuedId }).waitFor({ timeout: 30_000 });
          await page.getByText('User Metadata', { exact: true }).click();
          const details = page.frameLocator('#user-metadata-current-details');
          await details.getByText('Queued').first().waitFor({ timeout: 30_000 });
          const text = (await details.locator('body').textContent()) ?? '';
          expect(text).toMatch(/position 1 in the fleet.s queue/); // the UI may curl the apostrophe
          expect(text).toContain('tenant solo: quotas.maxConcurrentJobs (1) reached');
          expect(text).toContain('Tenant solo, priority 3.');
          const header = await cellTexts(details.locator('thead th'));
          expect(header[0]).toBe('phase');
          expect((await cellTexts(details.locator('tbody tr').first().locator('td')))[0]).toBe('queued');
          await page.screenshot({ path: path.join(ARTIFACTS, 'ui-queued-job.png'), fullPage: true });
        } finally {
          await Promise.all([running.cancel(), queued.cancel()]);
          await Promise.allSettled([running.result(), queued.result()]);
        }
      });
      expect(watched.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('`spotdag report --html` writes a page whose three charts draw, without errors or network', async () => {
    const htmlPath = path.join(ARTIFACTS, 'report.html');
    const printed = await runReportCommand(workflowId, htmlPath, stack.checkpointStore);
    expect(printed.html).toBe(htmlPath);
    const { totals, lanes, gantt: bars } = printed.report;
    expect(totals).toMatchObject({ subTasks: 5, subTasksDone: 5, instancesPlanned: 2 });
    expect(totals.interruptions).toBeGreaterThanOrEqual(1);
    // One row per instance, the interrupted one first; its work moved to another of them (the
    // controller's re-plan: the other instance, or a new one).
    const ids = lanes.map((l) => l.id);
    expect(ids[0]).toBe(interrupted);
    expect(ids).toHaveLength(totals.instancesProvisioned);
    expect(bars.interruptions[0]).toMatchObject({ lane: interrupted });
    expect(ids.slice(1)).toContain(bars.interruptions[0]!.to);

    const page = await newPage();
    const watched = watchPage(page);
    try {
      const url = pathToFileURL(htmlPath).href;
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
      expect(await page.title()).toBe(`spotdag report · ${workflowId}`);
      expect(await page.textContent('#job-id')).toBe(workflowId);
      const charts = (await page.evaluate(INSPECT_CHARTS)) as ChartSeen[];
      await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });

      expect(charts.map((c) => [c.id, c.type])).toEqual([
        ['gantt', 'bar'],
        ['cost', 'line'],
        ['prices', 'line'],
      ]);
      for (const chart of charts) {
        expect(chart.width).toBeGreaterThan(300);
        // Axes, grid, legend and data: a good share of the canvas is painted.
        expect(chart.painted / (chart.width * chart.height)).toBeGreaterThan(0.01);
      }
      const [gantt, cost, prices] = charts as [ChartSeen, ChartSeen, ChartSeen];
      expect(gantt.datasets).toEqual([
        { label: 'planned (schedule)', points: 5 },
        { label: 'ran', points: 5 },
        { label: 'ran until its instance was lost', points: totals.interruptions },
        { label: 'started, not finished', points: 0 },
        { label: 'interruption (sub-task moved)', points: totals.interruptions },
      ]);
      expect(gantt.labels).toHaveLength(ids.length); // one row per instance
      // Every sub-task's bar has a length on screen, and the longest is blue (but for its label).
      expect(gantt.ranBarWidths.every((w) => w > 0)).toBe(true);
      expect(gantt.ranBarBlueShare).toBeGreaterThan(0.5);
      expect(cost.datasets.map((d) => d.label)).toEqual(['planned', 'actual']);
      expect(cost.datasets.every((d) => d.points > 1)).toBe(true);
      expect(prices.datasets).toEqual([{ label: 'local@localhost (local · localhost · local)', points: 25 }]);

      expect(watched.errors).toEqual([]);
      expect(watched.requests).toEqual([url]); // nothing but the page itself
    } finally {
      await page.close();
    }
  });
});

describe('`spotdag report` on what is not a job', () => {
  it('names a sub-task workflow as not a job (exit 2) and an unknown id as not found (exit 1)', async () => {
    const stack = await startTestStack();
    try {
      const workflowId = uniqueId('report-input');
      await stack.runUntil(() =>
        stack.client.workflow.execute(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          args: [primesJobSpec(1000, { chunks: 1, instances: 1 })],
        }),
      );
      await expect(fetchReportModel(stack.client, `${workflowId}/total`)).rejects.toThrow(
        new NotAJobError(`${workflowId}/total is a spotdagSubTask workflow, not a spotdagJob`),
      );
      const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        const program = new Command('spotdag').exitOverride();
        registerReport(program);
        await program.parseAsync(['node', 'spotdag', 'report', `${workflowId}-nope`, '--json']);
        expect(process.exitCode).toBe(1);
        expect(error).toHaveBeenCalledWith(`spotdag: no job ${workflowId}-nope`);
      } finally {
        error.mockRestore();
        process.exitCode = undefined;
      }
    } finally {
      await stopAllInstances(stack);
      await stack.close();
    }
  });
});

async function waitFor(predicate: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The texts of the cells a locator finds, once there are any (the UI renders asynchronously). */
async function cellTexts(cells: Locator): Promise<string[]> {
  await cells.first().waitFor({ timeout: 30_000 });
  return (await cells.allTextContents()).map((t) => t.trim());
}

interface ChartSeen {
  id: string;
  type?: string;
  width: number;
  height: number;
  painted: number;
  labels: string[];
  datasets: Array<{ label: string; points: number }>;
  ranBarWidths: number[];
  ranBarBlueShare: number;
}

/** Runs in the page (a string: the tests are type-checked without DOM types). */
const INSPECT_CHARTS = `(() => ['gantt', 'cost', 'prices'].map((id) => {
  const canvas = document.getElementById(id);
  const chart = Chart.getChart(canvas);
  const ctx = canvas.getContext('2d');
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  const ran = id === 'gantt' ? chart.getDatasetMeta(1).data : [];
  const longest = ran.slice().sort((a, b) => b.width - a.width)[0];
  const scale = canvas.width / canvas.getBoundingClientRect().width;
  // The share of blue pixels inside the longest bar (inset by its border; its label is white).
  let blueShare = 0;
  if (longest) {
    const left = Math.round((Math.min(longest.x, longest.base) + 2) * scale);
    const top = Math.round((longest.y - longest.height / 2 + 2) * scale);
    const w = Math.max(1, Math.round((longest.width - 4) * scale));
    const h = Math.max(1, Math.round((longest.height - 4) * scale));
    const box = ctx.getImageData(left, top, w, h).data;
    let blue = 0;
    for (let i = 0; i < box.length; i += 4) if (box[i + 2] - Math.max(box[i], box[i + 1]) > 60) blue++;
    blueShare = blue / (w * h);
  }
  return {
    id,
    type: chart && chart.config.type,
    width: canvas.width,
    height: canvas.height,
    painted,
    labels: chart ? chart.data.labels || [] : [],
    datasets: chart ? chart.data.datasets.map((d) => ({ label: d.label, points: d.data.length })) : [],
    ranBarWidths: ran.map((el) => el.width),
    ranBarBlueShare: blueShare,
  };
}))()`;
