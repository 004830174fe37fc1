/**
 * The report as one self-contained HTML page: Chart.js inlined, the model embedded as JSON, a
 * Content-Security-Policy that forbids any network access. Pure: the caller supplies Chart.js's
 * UMD build (node_modules/chart.js/dist/chart.umd.js).
 */
import type { ReportModel } from './model';

export interface RenderOptions {
  /** The source of chart.js/dist/chart.umd.js. */
  chartJs: string;
  /** Shown in the footer. */
  generatedAtMs?: number;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** JSON that is safe inside a <script> element (no `</script>`, no `<!--`, no line separators). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A script's source, kept from closing its <script> element early. */
function scriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** Dollars with cents, more digits below $1, and two significant digits below a hundredth of a cent. */
export function formatUsd(value: number | undefined): string {
  if (value === undefined) return '—';
  const abs = Math.abs(value);
  if (abs === 0) return '$0.00';
  if (abs < 0.0001) return `$${value.toPrecision(2)}`;
  return `$${value.toFixed(abs < 1 ? 4 : 2)}`;
}

export function formatSeconds(value: number | undefined): string {
  if (value === undefined) return '—';
  if (value < 10) return `${value.toFixed(2)} s`;
  if (value < 600) return `${value.toFixed(1)} s`;
  if (value < 7200) return `${(value / 60).toFixed(1)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

export function formatBytes(value: number | undefined): string {
  if (value === undefined) return '—';
  if (value < 1024) return `${value} B`;
  if (value < 1024 ** 2) return `${(value / 1024).toFixed(1)} KiB`;
  if (value < 1024 ** 3) return `${(value / 1024 ** 2).toFixed(1)} MiB`;
  return `${(value / 1024 ** 3).toFixed(2)} GiB`;
}

function formatTime(ms: number | undefined): string {
  return ms === undefined
    ? '—'
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');
}

function totalsTable(model: ReportModel): string {
  const t = model.totals;
  const rows: Array<[string, string, string]> = [
    [
      'sub-tasks',
      String(t.subTasks),
      `${t.subTasksDone} done${t.subTasksUnfinished ? `, ${t.subTasksUnfinished} unfinished` : ''}`,
    ],
    [
      'instances',
      String(t.instancesPlanned),
      `${t.instancesProvisioned} provisioned, ${t.replacements} replacement${t.replacements === 1 ? '' : 's'}`,
    ],
    ['interruptions (sub-task moves)', '—', String(t.interruptions)],
    [
      'work lost (of it to a heartbeat timeout, an upper bound) / as the job counted it',
      `${formatSeconds(t.workLostSeconds)} (${formatSeconds(t.workLostEstimatedSeconds)})`,
      formatSeconds(t.reportedWorkLostSeconds),
    ],
    ['attempts', String(t.subTasks), String(t.attempts)],
    [
      'makespan of the run phase',
      formatSeconds(t.plannedMakespanSeconds),
      formatSeconds(t.actualMakespanSeconds),
    ],
    ['cost: busy time × forecast price', formatUsd(t.plannedCostUsd), formatUsd(t.actualCostUsd)],
    [
      'cost: allocator’s estimate / as the job counted it',
      formatUsd(t.allocatorCostUsd),
      formatUsd(t.reportedCostUsd),
    ],
    ...(model.tenancy
      ? [
          [
            `cost attributed to tenant ${model.tenancy.tenant} (priority ${model.tenancy.priority}, weight ${model.tenancy.weight}, fleet ${model.tenancy.fleet})`,
            '—',
            formatUsd(t.reportedCostUsd ?? t.actualCostUsd),
          ] as [string, string, string],
        ]
      : []),
    ['job (all phases)', '—', formatSeconds(t.jobElapsedSeconds)],
    [
      'data: between instances / inputs read (fetched at start)',
      formatBytes(t.plannedTransferBytes),
      `${formatBytes(t.inputBytes)} (${formatBytes(t.fetchedBytes)})`,
    ],
    [
      'data: time getting inputs / uploading outputs',
      '—',
      `${formatSeconds(t.inputSeconds)} / ${formatSeconds(t.outputSeconds)} (${formatBytes(t.outputBytes)} out)`,
    ],
  ];
  const body = rows
    .map(
      ([what, planned, actual]) =>
        `<tr><th scope="row">${escapeHtml(what)}</th><td>${escapeHtml(planned)}</td><td>${escapeHtml(actual)}</td></tr>`,
    )
    .join('\n');
  return `<table class="totals"><thead><tr><th></th><th>planned</th><th>actual</th></tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** The sub-tasks that moved data (at most `limit`, most bytes first). */
function transfersTable(model: ReportModel, limit = 50): string {
  if (model.transfers.length === 0)
    return '<p class="legend">No sub-task moved files (registered steps keep their data in the KV).</p>';
  const rows = model.transfers
    .slice(0, limit)
    .map((t) =>
      [
        t.subTaskId,
        t.instanceId,
        `${t.inputFiles} · ${formatBytes(t.inputBytes)}`,
        formatBytes(t.fetchedBytes),
        formatSeconds(t.inputSeconds),
        `${t.outputFiles} · ${formatBytes(t.outputBytes)}`,
        formatSeconds(t.outputSeconds),
      ]
        .map((cell) => `<td>${escapeHtml(cell)}</td>`)
        .join(''),
    )
    .map((cells) => `<tr>${cells}</tr>`)
    .join('\n');
  const more =
    model.transfers.length > limit
      ? `<p class="legend">…and ${model.transfers.length - limit} more in the JSON.</p>`
      : '';
  return `<table class="totals" id="transfers"><thead><tr><th>sub-task</th><th>instance</th><th>inputs</th><th>fetched at start</th><th>input time</th><th>outputs</th><th>upload time</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>${more}`;
}

const STYLE = `
  :root { color-scheme: light; --ink: #1d2433; --muted: #5b6478; --line: #d8dde6; }
  * { box-sizing: border-box; }
  body { margin: 0 auto; max-width: 1200px; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
  h1 { font-size: 24px; margin: 0 0 4px; }
  h2 { font-size: 18px; margin: 32px 0 6px; }
  p { margin: 4px 0; }
  code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f2f4f8; padding: 1px 4px; border-radius: 3px; }
  .meta { color: var(--muted); }
  .status { display: inline-block; padding: 0 8px; border-radius: 10px; background: #e8eefc; color: #1f4fb5; font-weight: 600; }
  .status.failed, .status.terminated, .status.timed-out, .status.canceled { background: #fde8e8; color: #a51d1d; }
  .status.completed { background: #e6f6ea; color: #17692f; }
  .failure { color: #a51d1d; white-space: pre-wrap; }
  table.totals { border-collapse: collapse; margin-top: 8px; min-width: 560px; }
  table.totals th, table.totals td { border-bottom: 1px solid var(--line); padding: 4px 12px; text-align: left; }
  table.totals td { font-variant-numeric: tabular-nums; }
  table.totals thead th { color: var(--muted); font-weight: 600; }
  .legend { color: var(--muted); max-width: 900px; }
  .chart { position: relative; width: 100%; margin-top: 8px; }
  #report-error { color: #a51d1d; font-weight: 600; }
  footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;

/**
 * Runs in the page: builds the three charts from the embedded model. Plain ES2017; exposes the
 * charts as `window.spotdagCharts` and sets `data-ready` on <body> once they are drawn.
 */
const CLIENT_SCRIPT = `
(function () {
  'use strict';
  var model = JSON.parse(document.getElementById('spotdag-report-data').textContent);
  var laneLabel = {};
  model.lanes.forEach(function (l) { laneLabel[l.id] = l.label; });
  function num(v, digits) { return Number(v).toFixed(digits); }
  function secs(v) { return Math.abs(v) < 10 ? num(v, 2) + ' s' : num(v, 1) + ' s'; }
  function usd(v) {
    var a = Math.abs(v);
    if (a === 0) return '$0';
    if (a < 0.0001) return '$' + Number(v.toPrecision(2));
    return '$' + num(v, a < 1 ? 4 : 2);
  }
  function bars(list) {
    return list.map(function (b) {
      return { x: [b.start, b.end], y: laneLabel[b.lane] || b.lane, subTaskId: b.subTaskId, lane: b.lane };
    });
  }
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#1d2433';

  // Sub-task names inside the bars that are wide enough for them.
  var barLabels = {
    id: 'spotdagBarLabels',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      ctx.save();
      ctx.font = '11px ' + Chart.defaults.font.family;
      ctx.textBaseline = 'middle';
      chart.data.datasets.forEach(function (ds, i) {
        if (!ds.spotdagLabels || !chart.isDatasetVisible(i)) return;
        chart.getDatasetMeta(i).data.forEach(function (el, j) {
          var p = el.getProps(['x', 'y', 'base'], true);
          var left = Math.min(p.x, p.base), width = Math.abs(p.x - p.base);
          var text = ds.data[j].subTaskId;
          if (ctx.measureText(text).width + 6 > width) return;
          ctx.fillStyle = ds.spotdagLabelColor || '#fff';
          ctx.fillText(text, left + 3, p.y);
        });
      });
      ctx.restore();
    },
  };

  // The shaded band on the price chart: when the job ran.
  var runWindow = {
    id: 'spotdagRunWindow',
    beforeDatasetsDraw: function (chart) {
      var w = model.prices.runWindowHours;
      if (!w) return;
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      var a = x.getPixelForValue(w[0]), b = x.getPixelForValue(w[1]);
      var left = Math.max(area.left, Math.min(a, b)), right = Math.min(area.right, Math.max(a, b, a + 3));
      if (right <= left) return;
      ctx.save();
      ctx.fillStyle = 'rgba(47, 111, 223, 0.18)';
      ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      ctx.restore();
    },
  };

  var g = model.gantt;
  var gantt = new Chart(document.getElementById('gantt'), {
    type: 'bar',
    data: {
      labels: model.lanes.map(function (l) { return l.label; }),
      datasets: [
        { label: 'planned (schedule)', stack: 'plan', data: bars(g.planned),
          pointStyle: 'rect', backgroundColor: 'rgba(120, 130, 150, 0.30)', borderColor: 'rgba(90, 100, 120, 0.9)', borderWidth: 1,
          spotdagLabels: true, spotdagLabelColor: '#39404f' },
        { label: 'ran', stack: 'run', data: bars(g.ran),
          pointStyle: 'rect', backgroundColor: 'rgba(47, 111, 223, 0.85)', borderColor: '#1f4fb5', borderWidth: 1, spotdagLabels: true },
        { label: 'ran until its instance was lost', stack: 'run', data: bars(g.interrupted),
          pointStyle: 'rect', backgroundColor: 'rgba(240, 140, 0, 0.85)', borderColor: '#b35c00', borderWidth: 1, spotdagLabels: true },
        { label: 'started, not finished', stack: 'run', data: bars(g.unfinished),
          pointStyle: 'rect', backgroundColor: 'rgba(155, 89, 182, 0.6)', borderColor: '#6c3483', borderWidth: 1, spotdagLabels: true },
        { type: 'scatter', label: 'interruption (sub-task moved)', data: g.interruptions.map(function (m) {
            return { x: m.at, y: laneLabel[m.lane] || m.lane, subTaskId: m.subTaskId, to: m.to, reason: m.reason };
          }),
          pointStyle: 'crossRot', pointRadius: 9, pointHoverRadius: 11, borderWidth: 3,
          borderColor: '#d62728', backgroundColor: '#d62728' },
      ],
    },
    options: {
      indexAxis: 'y',
      maintainAspectRatio: false,
      scales: {
        x: { type: 'linear', stacked: false, title: { display: true, text: 'seconds since the run phase began' } },
        y: { type: 'category', grid: { offset: true } },
      },
      plugins: {
        legend: { position: 'top', labels: { usePointStyle: true, filter: function (item, data) {
          var ds = data.datasets[item.datasetIndex];
          return item.datasetIndex < 2 || ds.data.length > 0;
        } } },
        tooltip: { callbacks: { label: function (c) {
          var r = c.raw;
          if (c.dataset.type === 'scatter')
            return r.subTaskId + ': instance lost at ' + secs(r.x) + ' (' + r.reason + '), moved to ' + r.to;
          return r.subTaskId + ': ' + secs(r.x[0]) + ' – ' + secs(r.x[1]) + ' (' + c.dataset.label + ')';
        } } },
      },
    },
    plugins: [barLabels],
  });

  var cost = new Chart(document.getElementById('cost'), {
    type: 'line',
    data: {
      datasets: [
        { label: 'planned', data: model.cost.planned.map(function (p) { return { x: p.t, y: p.usd }; }),
          borderColor: '#7a8396', backgroundColor: '#7a8396', borderDash: [6, 4], pointRadius: 0, borderWidth: 2 },
        { label: 'actual', data: model.cost.actual.map(function (p) { return { x: p.t, y: p.usd }; }),
          borderColor: '#2f6fdf', backgroundColor: '#2f6fdf', pointRadius: 0, borderWidth: 2 },
      ],
    },
    options: {
      maintainAspectRatio: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'seconds since the run phase began' } },
        y: { beginAtZero: true, suggestedMax: 0.0001, title: { display: true, text: 'cumulative cost (USD)' },
          ticks: { callback: function (v) { return usd(v); } } },
      },
      plugins: { tooltip: { callbacks: { label: function (c) {
        return c.dataset.label + ': ' + usd(c.parsed.y) + ' at ' + secs(c.parsed.x);
      } } } },
    },
  });

  var palette = ['#2f6fdf', '#e8590c', '#2b8a3e', '#ae3ec9', '#c92a2a', '#1098ad', '#5c940d', '#862e9c'];
  var prices = new Chart(document.getElementById('prices'), {
    type: 'line',
    data: {
      datasets: model.prices.series.map(function (s, i) {
        var color = palette[i % palette.length];
        return { label: s.label, data: s.points.map(function (p) { return { x: p.hour, y: p.usdPerHour }; }),
          stepped: 'before', borderColor: color, backgroundColor: color, pointRadius: 0, borderWidth: 2 };
      }),
    },
    options: {
      maintainAspectRatio: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'hours since the forecast was made' } },
        y: { beginAtZero: true, suggestedMax: 0.01, title: { display: true, text: 'price per instance-hour (USD)' },
          ticks: { callback: function (v) { return usd(v); } } },
      },
      plugins: { tooltip: { callbacks: { label: function (c) {
        return c.dataset.label + ': ' + usd(c.parsed.y) + '/h from hour ' + num(c.parsed.x, 1);
      } } } },
    },
    plugins: [runWindow],
  });

  window.spotdagCharts = { gantt: gantt, cost: cost, prices: prices };
  document.body.setAttribute('data-ready', 'true');
})();
`;

/** The whole page. Every text from the model goes through escapeHtml or jsonForScript. */
export function renderReportHtml(model: ReportModel, options: RenderOptions): string {
  const id = escapeHtml(model.workflowId);
  const name = model.name ? escapeHtml(model.name) : '';
  const ganttHeight = Math.max(220, 90 + model.lanes.length * 56);
  const interruptions = model.totals.interruptions;
  const generated =
    options.generatedAtMs !== undefined ? ` on ${escapeHtml(formatTime(options.generatedAtMs))}` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spotdag report · ${id}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>spotdag job report${name ? ` · ${name}` : ''}</h1>
<p>Job <code id="job-id">${id}</code> <span class="status ${escapeHtml(model.status)}">${escapeHtml(model.status)}</span></p>
<p class="meta">started ${escapeHtml(formatTime(model.startedAtMs))} · closed ${escapeHtml(formatTime(model.closedAtMs))} · run phase began ${escapeHtml(formatTime(model.originMs))}</p>
${model.failure ? `<p class="failure">${escapeHtml(model.failure)}</p>` : ''}
<p id="report-error" hidden></p>
</header>
<section>
<h2>Totals</h2>
${totalsTable(model)}
</section>
<section>
<h2>Sub-tasks on instances</h2>
<p class="legend">One row per instance (replacements below the instance they replaced). In each row the upper,
grey bars are the schedule’s plan and the lower bars what ran: blue where a sub-task finished, orange where it ran
until its instance was lost; a red ✕ marks the interruption (${interruptions} in this job), after which the
sub-task continued on the replacement. Times are seconds since the run phase began.</p>
<div class="chart" style="height: ${ganttHeight}px"><canvas id="gantt" role="img" aria-label="Gantt chart of sub-tasks over instances"></canvas></div>
</section>
<section>
<h2>Data transfers</h2>
<p class="legend">Per sub-task: its input files and bytes, the bytes fetched from the artifact store when it
started (the rest was already on the instance: prefetched while the instance was busy, or cached), the time until
its inputs were in place, and its outputs and their upload time.</p>
${transfersTable(model)}
</section>
<section>
<h2>Cost over time</h2>
<p class="legend">Cumulative cost: planned (dashed) from the schedule’s placements × the pool’s forecast price, actual
from each sub-task’s start and finish × the same price, each sub-task paying its share (1/slots) of its
instance.</p>
<div class="chart" style="height: 320px"><canvas id="cost" role="img" aria-label="Cumulative cost over time, planned and actual"></canvas></div>
</section>
<section>
<h2>Price forecasts used</h2>
<p class="legend">The price per instance-hour each pool was forecast at over the horizon, as the job planned with it
(one line per pool). The shaded band is when the job ran.</p>
<div class="chart" style="height: 320px"><canvas id="prices" role="img" aria-label="Price forecasts per pool"></canvas></div>
</section>
<footer>Generated by <code>spotdag report</code> from the workflow history of ${id}${generated}.</footer>
<script>${scriptSource(options.chartJs)}</script>
<script type="application/json" id="spotdag-report-data">${jsonForScript(model)}</script>
<script>
try {
${CLIENT_SCRIPT}
} catch (err) {
  var box = document.getElementById('report-error');
  box.hidden = false;
  box.textContent = 'The charts could not be drawn: ' + err;
  throw err;
}
</script>
</body>
</html>
`;
}
