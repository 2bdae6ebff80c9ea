// graph.js - the time series chart of the Graph tab, drawn as SVG by hand
// (upstream uses uPlot on a canvas; SVG keeps this small, lets the browser
// test find the drawn series as elements, and is fast enough for the few
// hundred series a person can read in one chart).
//
// The range query's answer lies on a grid: start, start + step, ..., end.
// Each series is mapped onto that grid (missing steps stay empty), so a line
// breaks where a series has no sample, an isolated sample is drawn as a dot,
// and stacking adds the series step by step in the order of the legend.
//
// Interaction, as upstream's chart:
//   - hovering shows a vertical line, the time and every series' value at the
//     nearest step, the series nearest to the pointer emphasised;
//   - dragging across the plot selects a time range to zoom into;
//   - a click on a legend entry shows only that series, Ctrl/Cmd+click adds
//     or removes it from the shown set; hovering an entry emphasises it.
import { el, clear, formatSI, formatNumber, formatTime, formatTimeZone, seriesNameNode, getSetting } from './lib.js';

const palette = [
  '#1f77b4', '#e6522c', '#2ca02c', '#9467bd', '#d62728', '#8c564b', '#e377c2', '#17becf',
  '#bcbd22', '#7f7f7f', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd',
  '#31a354', '#756bb1', '#e6550d', '#636363',
];

export function seriesColor(i) {
  return palette[i % palette.length];
}

// A "nice" step (1, 2 or 5 times a power of ten) near span / count.
function niceStep(span, count) {
  const raw = span / Math.max(count, 1);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

const timeSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200, 86400, 172800, 604800, 1209600, 2592000, 7776000, 15552000, 31536000].map((s) => s * 1000);

// Tick times (ms) between a and b, at most `count` of them, on round
// boundaries of the zone shown.
function timeTicks(a, b, count, local) {
  const step = timeSteps.find((s) => (b - a) / s <= count) || timeSteps[timeSteps.length - 1];
  const off = local ? -new Date(a).getTimezoneOffset() * 60000 : 0;
  const ticks = [];
  for (let t = Math.ceil((a + off) / step) * step - off; t <= b; t += step) ticks.push(t);
  return { ticks, step };
}

function timeLabel(t, step, local) {
  const s = formatTime(t, local); // YYYY-MM-DD HH:mm:ss
  if (step >= 86400000) return s.slice(5, 10);
  if (step >= 60000) return s.slice(11, 16);
  return s.slice(11, 19);
}

// Draws result (a matrix: [{metric, values: [[t, "v"], ...]}]) into root.
// opts: {start, end, step (seconds), stacked, yMin (null or 0),
// onSelectRange(startSec, endSec)}.  Returns a function that removes what
// it listens to.
export function drawGraph(root, result, opts) {
  clear(root);
  const local = getSetting('localTime', false);
  const n = Math.round((opts.end - opts.start) / opts.step) + 1;
  const times = Array.from({ length: n }, (_, i) => opts.start + i * opts.step);
  const series = result.map((s, idx) => {
    const vals = new Array(n).fill(null);
    for (const [t, v] of s.values || []) {
      const i = Math.round((t - opts.start) / opts.step);
      if (i >= 0 && i < n) vals[i] = parseFloat(v);
    }
    return { metric: s.metric, vals, color: seriesColor(idx), idx };
  });
  let shown = new Set(series.map((s) => s.idx));
  let hoverIdx = null;

  const chart = el('div', { class: 'chart' });
  const legend = el('div', { class: 'legend' });
  const tooltip = el('div', { class: 'chart-tooltip', hidden: true });
  root.append(chart, legend);
  chart.appendChild(tooltip);

  let geom = null; // what the last draw computed, for hovering
  function draw() {
    const svgOld = chart.querySelector('svg');
    if (svgOld) svgOld.remove();
    const W = Math.max(chart.clientWidth || 800, 300), H = 420;
    const vis = series.filter((s) => shown.has(s.idx));
    // stacked: cumulative values on the grid, in legend order
    const tops = new Map(), bottoms = new Map();
    const acc = new Array(n).fill(0);
    for (const s of vis) {
      if (opts.stacked) {
        bottoms.set(s.idx, acc.slice());
        for (let i = 0; i < n; i++) if (s.vals[i] !== null && isFinite(s.vals[i])) acc[i] += s.vals[i];
        tops.set(s.idx, s.vals.map((v, i) => (v === null ? null : acc[i])));
      } else tops.set(s.idx, s.vals);
    }
    let lo = Infinity, hi = -Infinity;
    for (const s of vis) {
      for (const v of tops.get(s.idx)) {
        if (v !== null && isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (opts.stacked || opts.yMin === 0) lo = Math.min(lo, 0);
    if (lo === Infinity) {
      lo = 0;
      hi = 1;
    }
    if (lo === hi) {
      const d = Math.abs(lo) * 0.1 || 1;
      lo -= d;
      hi += d;
    }
    const yStep = niceStep(hi - lo, 6);
    lo = Math.floor(lo / yStep) * yStep;
    hi = Math.ceil(hi / yStep) * yStep;
    const yTicks = [];
    for (let v = lo; v <= hi + yStep / 2; v += yStep) yTicks.push(Math.abs(v) < yStep / 1e6 ? 0 : v);
    const yLabels = yTicks.map((v) => formatSI(v, yStep));
    const ml = Math.max(...yLabels.map((l) => l.length)) * 7 + 16, mr = 16, mt = 12, mb = 28;
    const pw = W - ml - mr, ph = H - mt - mb;
    const x = (t) => ml + ((t - opts.start) / (opts.end - opts.start || 1)) * pw;
    const y = (v) => mt + ph - ((v - lo) / (hi - lo)) * ph;

    const svg = el('svg:svg', { class: 'chart-svg', width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    const grid = el('svg:g', { class: 'grid' });
    yTicks.forEach((v, i) => {
      grid.appendChild(el('svg:line', { x1: ml, x2: ml + pw, y1: y(v), y2: y(v) }));
      grid.appendChild(el('svg:text', { x: ml - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, yLabels[i]));
    });
    const tt = timeTicks(opts.start * 1000, opts.end * 1000, Math.max(2, Math.floor(pw / 110)), local);
    for (const t of tt.ticks) {
      const px = x(t / 1000);
      grid.appendChild(el('svg:line', { x1: px, x2: px, y1: mt, y2: mt + ph }));
      grid.appendChild(el('svg:text', { x: px, y: H - 8, 'text-anchor': 'middle', class: 'tick' }, timeLabel(t, tt.step, local)));
    }
    grid.appendChild(el('svg:rect', { x: ml, y: mt, width: pw, height: ph, class: 'plot-frame' }));
    svg.appendChild(grid);

    const plot = el('svg:g', { class: 'series-layer' });
    for (const s of vis) {
      const top = tops.get(s.idx), bot = bottoms.get(s.idx);
      // runs of consecutive present finite points
      const runs = [];
      let run = null;
      for (let i = 0; i < n; i++) {
        const v = top[i];
        if (v === null || !isFinite(v)) {
          run = null;
          continue;
        }
        if (!run) runs.push((run = []));
        run.push(i);
      }
      const g = el('svg:g', { class: 'series', 'data-series': s.idx });
      let d = '', points = 0;
      for (const r of runs) {
        if (r.length === 1) {
          g.appendChild(el('svg:circle', { cx: x(times[r[0]]), cy: y(top[r[0]]), r: 2.5, fill: s.color, class: 'point' }));
        }
        d += r.map((i, k) => `${k ? 'L' : 'M'}${x(times[i]).toFixed(1)},${y(top[i]).toFixed(1)}`).join('');
        points += r.length;
        if (opts.stacked) {
          const back = r.slice().reverse().map((i) => `L${x(times[i]).toFixed(1)},${y(bot[i]).toFixed(1)}`).join('');
          const area = r.map((i, k) => `${k ? 'L' : 'M'}${x(times[i]).toFixed(1)},${y(top[i]).toFixed(1)}`).join('') + back + 'Z';
          g.appendChild(el('svg:path', { d: area, fill: s.color, 'fill-opacity': 0.35, stroke: 'none', class: 'area' }));
        }
      }
      if (d) g.appendChild(el('svg:path', { d, stroke: s.color, fill: 'none', 'stroke-width': 1.8, class: 'line', 'data-points': points }));
      plot.appendChild(g);
    }
    svg.appendChild(plot);
    const cursor = el('svg:line', { class: 'cursor', x1: 0, x2: 0, y1: mt, y2: mt + ph, visibility: 'hidden' });
    const sel = el('svg:rect', { class: 'selection', x: 0, y: mt, width: 0, height: ph, visibility: 'hidden' });
    const overlay = el('svg:rect', { x: ml, y: mt, width: pw, height: ph, class: 'overlay' });
    svg.append(cursor, sel, overlay);
    chart.insertBefore(svg, tooltip);
    geom = { x, y, ml, pw, mt, ph, tops, vis, cursor, sel, overlay, svg };
    wire();
    emphasise();
  }

  function emphasise() {
    chart.querySelectorAll('g.series').forEach((g) => {
      const i = +g.dataset.series;
      g.classList.toggle('dim', hoverIdx !== null && i !== hoverIdx);
    });
  }

  function stepAt(clientX) {
    const r = geom.svg.getBoundingClientRect();
    const px = clientX - r.left;
    const t = opts.start + ((px - geom.ml) / geom.pw) * (opts.end - opts.start);
    return { i: Math.max(0, Math.min(n - 1, Math.round((t - opts.start) / opts.step))), px, py: 0 };
  }

  let dragFrom = null;
  function wire() {
    const { overlay, cursor, sel } = geom;
    overlay.addEventListener('mousemove', (ev) => {
      const { i } = stepAt(ev.clientX);
      const r = geom.svg.getBoundingClientRect();
      const py = ev.clientY - r.top;
      const cx = geom.x(times[i]);
      cursor.setAttribute('x1', cx);
      cursor.setAttribute('x2', cx);
      cursor.setAttribute('visibility', 'visible');
      if (dragFrom !== null) {
        const a = Math.min(dragFrom, ev.clientX - r.left), b = Math.max(dragFrom, ev.clientX - r.left);
        sel.setAttribute('x', Math.max(a, geom.ml));
        sel.setAttribute('width', Math.min(b, geom.ml + geom.pw) - Math.max(a, geom.ml));
        sel.setAttribute('visibility', 'visible');
      }
      // values at this step, nearest series to the pointer first
      const rows = [];
      let nearest = null, best = Infinity;
      for (const s of geom.vis) {
        const v = s.vals[i];
        if (v === null) continue;
        const top = geom.tops.get(s.idx)[i];
        const dist = isFinite(top) ? Math.abs(geom.y(top) - py) : Infinity;
        if (dist < best) {
          best = dist;
          nearest = s;
        }
        rows.push({ s, v });
      }
      if (nearest && nearest.idx !== hoverIdx) {
        hoverIdx = nearest.idx;
        emphasise();
      }
      clear(tooltip);
      tooltip.appendChild(el('div', { class: 'tt-time' }, formatTimeZone(times[i] * 1000, local)));
      if (nearest) {
        tooltip.appendChild(el('div', { class: 'tt-nearest' },
          el('span', { class: 'swatch', style: `background:${nearest.color}` }),
          seriesNameNode(nearest.metric), ': ', el('strong', {}, formatNumber(nearest.vals[i]))));
      }
      rows.sort((a, b) => b.v - a.v);
      const others = rows.filter((r) => r.s !== nearest);
      for (const r of others.slice(0, 10)) {
        tooltip.appendChild(el('div', { class: 'tt-row' },
          el('span', { class: 'swatch', style: `background:${r.s.color}` }),
          el('span', { class: 'tt-name' }, r.s.metric.__name__ || shortLabels(r.s.metric)), ' ', formatNumber(r.v)));
      }
      if (others.length > 10) tooltip.appendChild(el('div', { class: 'tt-row muted' }, `and ${others.length - 10} more`));
      tooltip.hidden = false;
      const cw = chart.clientWidth;
      const left = cx + 16 + 320 > cw ? Math.max(0, cx - 16 - 320) : cx + 16;
      tooltip.style.left = left + 'px';
      tooltip.style.top = Math.max(0, py - 20) + 'px';
    });
    overlay.addEventListener('mouseleave', () => {
      cursor.setAttribute('visibility', 'hidden');
      sel.setAttribute('visibility', 'hidden');
      dragFrom = null;
      tooltip.hidden = true;
      hoverIdx = null;
      emphasise();
    });
    overlay.addEventListener('mousedown', (ev) => {
      ev.preventDefault();
      dragFrom = ev.clientX - geom.svg.getBoundingClientRect().left;
    });
    overlay.addEventListener('mouseup', (ev) => {
      if (dragFrom === null) return;
      const to = ev.clientX - geom.svg.getBoundingClientRect().left;
      const a = Math.min(dragFrom, to), b = Math.max(dragFrom, to);
      dragFrom = null;
      sel.setAttribute('visibility', 'hidden');
      if (b - a < 5 || !opts.onSelectRange) return;
      const tAt = (px) => opts.start + ((Math.max(geom.ml, Math.min(px, geom.ml + geom.pw)) - geom.ml) / geom.pw) * (opts.end - opts.start);
      opts.onSelectRange(tAt(a), tAt(b));
    });
  }

  // legend
  for (const s of series) {
    const item = el('div', {
      class: 'legend-item', 'data-series': s.idx, title: 'Click: show only this series; Ctrl+click: add or remove it',
      onclick: (ev) => {
        if (ev.ctrlKey || ev.metaKey) {
          if (shown.has(s.idx)) shown.delete(s.idx);
          else shown.add(s.idx);
          if (!shown.size) shown = new Set(series.map((x) => x.idx));
        } else if (shown.size === 1 && shown.has(s.idx)) shown = new Set(series.map((x) => x.idx));
        else shown = new Set([s.idx]);
        legend.querySelectorAll('.legend-item').forEach((li) => li.classList.toggle('off', !shown.has(+li.dataset.series)));
        draw();
      },
      onmouseenter: () => {
        hoverIdx = s.idx;
        emphasise();
      },
      onmouseleave: () => {
        hoverIdx = null;
        emphasise();
      },
    }, el('span', { class: 'swatch', style: `background:${s.color}` }), seriesNameNode(s.metric));
    legend.appendChild(item);
  }

  draw();
  const ro = new ResizeObserver(() => {
    if (geom && Math.abs(chart.clientWidth - geom.svg.width.baseVal.value) > 2) draw();
  });
  ro.observe(chart);
  return () => ro.disconnect();
}

function shortLabels(metric) {
  return Object.entries(metric).map(([k, v]) => `${k}="${v}"`).join(', ') || '{}';
}
