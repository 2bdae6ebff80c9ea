// query.js - the query page (upstream's /query): one or more panels, each
// with an expression input and a Table tab (an instant query) and a Graph
// tab (a range query), and a button to add panels.
//
// The page's state lives in the URL in upstream's format, so links from
// Prometheus carry over and back:
//
//   ?g0.expr=up&g0.tab=graph&g0.range_input=1h&g0.end_input=2024-05-01 10:00:00
//    &g0.res_type=auto&g0.res_density=medium&g0.display_mode=lines
//    &g0.show_tree=0&g1.expr=...
//
// (also the old UI's g0.tab=0/1, g0.stacked and g0.step_input, and
// g0.moment_input for the table's evaluation time).  Running a query or
// adding or removing a panel adds a history entry; changing a control
// replaces the current one.
//
// Each panel runs at most one request at a time: a new one aborts the
// previous (AbortController), as does leaving the page.
import {
  el, clear, api, alertBox, loading, formatDuration, parseDuration, formatTime, parseTime,
  seriesNameNode, getSetting, setSetting, setURLParams, icon,
} from './lib.js';
import { attach, resetCache, metricNames } from './complete.js';
import { drawGraph } from './graph.js';

const rangeSteps = [1, 10, 60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 604800,
  1209600, 2419200, 4838400, 9676800, 15724800, 31536000, 63072000].map((s) => s * 1000);

const maxTableRows = 10000;

export function newPanel() {
  return {
    expr: '', tab: 'table', showTree: false, range: 3600 * 1000, endTime: null,
    res: { type: 'auto', density: 'medium' }, displayMode: 'lines', yAxisMin: null,
  };
}

// upstream's getEffectiveResolution: the step in ms for a range.
export function effectiveStep(res, range) {
  if (res.type === 'auto') {
    const factor = res.density === 'high' ? 750 : res.density === 'medium' ? 250 : 100;
    return Math.max(Math.floor(range / factor / 1000) * 1000, 1000);
  }
  return res.step;
}

export function decodePanels(search) {
  const q = new URLSearchParams(search);
  const panels = [];
  for (let i = 0; q.has(`g${i}.expr`); i++) {
    const p = newPanel();
    const get = (k) => q.get(`g${i}.${k}`);
    const has = (k) => q.has(`g${i}.${k}`);
    p.expr = get('expr');
    if (has('show_tree')) p.showTree = get('show_tree') === '1';
    if (has('tab')) {
      const t = get('tab');
      if (t === '0' || t === 'graph') p.tab = 'graph';
      else if (t === '1' || t === 'table') p.tab = 'table';
    }
    if (has('display_mode') && ['lines', 'stacked'].includes(get('display_mode'))) p.displayMode = get('display_mode');
    if (has('stacked')) p.displayMode = get('stacked') === '1' ? 'stacked' : 'lines';
    if (has('y_axis_min')) p.yAxisMin = get('y_axis_min') === '' ? null : parseFloat(get('y_axis_min'));
    if (has('range_input')) p.range = parseDuration(get('range_input')) || p.range;
    if (has('end_input')) p.endTime = parseTime(get('end_input'), false);
    if (has('step_input') && parseInt(get('step_input'), 10) > 0) {
      p.res = { type: 'custom', step: parseInt(get('step_input'), 10) * 1000 };
    }
    switch (get('res_type')) {
      case 'auto':
        if (['low', 'medium', 'high'].includes(get('res_density'))) p.res = { type: 'auto', density: get('res_density') };
        break;
      case 'fixed':
      case 'custom': {
        const s = parseFloat(get('res_step'));
        if (s > 0) p.res = { type: get('res_type'), step: s * 1000 };
        break;
      }
    }
    if (has('moment_input')) p.endTime = parseTime(get('moment_input'), false);
    panels.push(p);
  }
  return panels;
}

export function encodePanels(panels) {
  const q = new URLSearchParams();
  panels.forEach((p, i) => {
    const add = (k, v) => q.append(`g${i}.${k}`, v);
    add('expr', p.expr);
    add('show_tree', p.showTree ? '1' : '0');
    add('tab', p.tab);
    if (p.endTime !== null) {
      add('end_input', formatTime(p.endTime, false));
      add('moment_input', formatTime(p.endTime, false));
    }
    add('range_input', formatDuration(p.range));
    if (p.res.type === 'auto') {
      add('res_type', 'auto');
      add('res_density', p.res.density);
    } else {
      add('res_type', p.res.type);
      add('res_step', String(p.res.step / 1000));
    }
    add('display_mode', p.displayMode);
    if (p.yAxisMin !== null) add('y_axis_min', String(p.yAxisMin));
    add('show_exemplars', '0');
  });
  return q;
}

// ---- Controls

// A time input with buttons that move it by `step()` ms; null is "now".
function timeInput(label, get, set, step) {
  const input = el('input', {
    class: 'input time-input', type: 'text', placeholder: label, 'aria-label': label,
    value: get() === null ? '' : formatTime(get(), undefined, true),
  });
  const commit = () => {
    const v = input.value.trim();
    if (v === '') return get() === null ? undefined : set(null);
    const t = parseTime(v);
    if (t === null) input.classList.add('invalid');
    else if (t !== get()) {
      input.classList.remove('invalid');
      set(t);
    }
  };
  input.addEventListener('keydown', (e) => e.key === 'Enter' && commit());
  input.addEventListener('change', commit);
  const move = (sign) => {
    const base = get() === null ? Date.now() : get();
    set(base + sign * step());
  };
  return el('div', { class: 'input-group', title: label },
    el('button', { class: 'btn btn-default', type: 'button', title: 'Earlier', onclick: () => move(-1) }, '‹'),
    input,
    get() !== null ? el('button', { class: 'btn btn-default', type: 'button', title: 'Now', onclick: () => set(null) }, '×') : null,
    el('button', { class: 'btn btn-default', type: 'button', title: 'Later', onclick: () => move(1) }, '›'));
}

function rangeInput(p, set) {
  const input = el('input', { class: 'input range-input', type: 'text', value: formatDuration(p.range), 'aria-label': 'Range' });
  const commit = () => {
    const ms = parseDuration(input.value);
    if (ms && ms > 0) {
      if (ms !== p.range) set(ms);
    } else input.value = formatDuration(p.range);
  };
  input.addEventListener('keydown', (e) => e.key === 'Enter' && commit());
  input.addEventListener('change', commit);
  const less = () => set([...rangeSteps].reverse().find((s) => s < p.range) || rangeSteps[0]);
  const more = () => set(rangeSteps.find((s) => s > p.range) || p.range);
  return el('div', { class: 'input-group', title: 'Range' },
    el('button', { class: 'btn btn-default', type: 'button', title: 'Shorter range', onclick: less }, '−'),
    input,
    el('button', { class: 'btn btn-default', type: 'button', title: 'Longer range', onclick: more }, '+'));
}

function resolutionInput(p, set) {
  const value = p.res.type === 'auto' ? p.res.density : p.res.type === 'fixed' ? String(p.res.step) : 'custom';
  const opt = (v, l) => el('option', { value: v, selected: v === value }, l);
  const select = el('select', { class: 'input', title: 'Resolution', 'aria-label': 'Resolution' },
    el('optgroup', { label: 'Automatic resolution' }, opt('low', 'Low res.'), opt('medium', 'Medium res.'), opt('high', 'High res.')),
    el('optgroup', { label: 'Fixed resolution' }, opt('10000', '10s'), opt('30000', '30s'), opt('60000', '1m'),
      opt('300000', '5m'), opt('900000', '15m'), opt('3600000', '1h')),
    el('optgroup', { label: 'Custom resolution' }, opt('custom', 'Enter value...')));
  select.addEventListener('change', () => {
    const v = select.value;
    if (['low', 'medium', 'high'].includes(v)) set({ type: 'auto', density: v });
    else if (v === 'custom') set({ type: 'custom', step: effectiveStep(p.res, p.range) });
    else set({ type: 'fixed', step: parseInt(v, 10) });
  });
  const group = el('div', { class: 'input-group' }, select);
  if (p.res.type === 'custom') {
    const input = el('input', { class: 'input step-input', type: 'text', value: formatDuration(p.res.step), 'aria-label': 'Resolution step' });
    const commit = () => {
      const ms = parseDuration(input.value);
      if (ms && ms > 0) {
        if (ms !== p.res.step) set({ type: 'custom', step: ms });
      } else input.value = formatDuration(p.res.step);
    };
    input.addEventListener('keydown', (e) => e.key === 'Enter' && commit());
    input.addEventListener('change', commit);
    group.appendChild(input);
  }
  return group;
}

function segmented(options, value, onChange) {
  return el('div', { class: 'segmented', role: 'radiogroup' },
    options.map(([v, label]) => el('button', {
      type: 'button', class: 'seg' + (v === value ? ' active' : ''), role: 'radio', 'aria-checked': v === value ? 'true' : 'false',
      onclick: () => v !== value && onChange(v),
    }, label)));
}

// ---- Results

function statsLine(ms, count, extra) {
  return el('div', { class: 'query-stats' },
    el('span', {}, `Load time: ${ms}ms`), extra ? el('span', {}, extra) : null,
    el('span', {}, `Result series: ${count}`));
}

function notes(body) {
  return [
    ...(body.warnings || []).map((w) => alertBox('warning', 'Warning:', w)),
    ...(body.infos || []).map((w) => alertBox('info', 'Info:', w)),
  ];
}

function histogramText(h) {
  const [, hist] = h;
  const buckets = (hist.buckets || []).map(([b, lo, hi, c]) => {
    const open = b === 3 || b === 1 ? '(' : '[';
    const close = b === 0 || b === 1 ? ']' : ')';
    return `${open}${lo},${hi}${close}: ${c}`;
  });
  return `count: ${hist.count}, sum: ${hist.sum}` + (buckets.length ? ` buckets: ${buckets.join(' ')}` : '');
}

function tableRows(data) {
  const rows = [];
  switch (data.resultType) {
    case 'vector':
      for (const s of data.result.slice(0, maxTableRows)) {
        rows.push(el('tr', {}, el('td', { class: 'series-cell' }, seriesNameNode(s.metric)),
          el('td', { class: 'value-cell' }, s.value ? s.value[1] : histogramText(s.histogram))));
      }
      break;
    case 'matrix':
      for (const s of data.result.slice(0, maxTableRows)) {
        const vals = (s.values || []).map(([t, v]) => el('div', {}, v, el('span', { class: 'muted' }, ` @${t}`)));
        const hists = (s.histograms || []).map((h) => el('div', {}, histogramText(h), el('span', { class: 'muted' }, ` @${h[0]}`)));
        rows.push(el('tr', {}, el('td', { class: 'series-cell' }, seriesNameNode(s.metric)),
          el('td', { class: 'value-cell' }, vals, hists)));
      }
      break;
    case 'scalar':
      rows.push(el('tr', {}, el('td', { class: 'series-cell' }, 'scalar'), el('td', { class: 'value-cell' }, data.result[1])));
      break;
    case 'string':
      rows.push(el('tr', {}, el('td', { class: 'series-cell' }, 'string'), el('td', { class: 'value-cell' }, data.result[1])));
      break;
  }
  return rows;
}

function resultCount(data) {
  return data.resultType === 'vector' || data.resultType === 'matrix' ? data.result.length : 1;
}

// ---- A panel

class Panel {
  constructor(page, state) {
    this.page = page;
    this.p = state;
    this.ctrl = null;
    this.cleanupChart = null;
    this.node = el('section', { class: 'card panel' });
    this.render();
  }

  stop() {
    if (this.ctrl) this.ctrl.abort();
    this.ctrl = null;
    if (this.cleanupChart) this.cleanupChart();
    this.cleanupChart = null;
  }

  // Builds the panel anew from its state.  Removing the old nodes can blur
  // an input whose change handler sets state and asks for a render again:
  // that nested call only updates the state this one reads afterwards.
  render() {
    if (this.rendering) return;
    this.rendering = true;
    try {
      this.build();
    } finally {
      this.rendering = false;
    }
  }

  build() {
    this.stop();
    clear(this.node);
    const p = this.p;
    const input = el('textarea', {
      class: 'expr-input', rows: 1, spellcheck: 'false', autocomplete: 'off',
      placeholder: 'Enter expression (press Shift+Enter for newlines)', 'aria-label': 'Expression',
    });
    input.value = p.expr;
    const wrap = el('div', { class: 'expr-wrap' }, input);
    const ac = attach(input, wrap);
    const grow = () => {
      input.style.height = 'auto';
      input.style.height = input.scrollHeight + 2 + 'px';
    };
    input.addEventListener('input', grow);
    input.addEventListener('keydown', (ev) => {
      if (ac.handleKey(ev)) {
        ev.preventDefault();
        return;
      }
      if (ev.key === 'Enter' && !ev.shiftKey) {
        ev.preventDefault();
        this.execute(input.value);
      }
    });
    this.input = input;
    const head = el('div', { class: 'expr-row' }, wrap,
      el('button', { class: 'btn btn-primary execute-btn', type: 'button', onclick: () => this.execute(input.value) }, 'Execute'),
      el('button', { class: 'btn btn-default icon-btn', type: 'button', title: 'Explore metrics', 'aria-label': 'Explore metrics', onclick: () => this.explore() }, icon('search')),
      el('button', { class: 'btn btn-default icon-btn', type: 'button', title: 'Duplicate query', 'aria-label': 'Duplicate query', onclick: () => this.page.duplicate(this, input.value) }, icon('copy')),
      el('button', { class: 'btn btn-default icon-btn remove-btn', type: 'button', title: 'Remove query', 'aria-label': 'Remove query', onclick: () => this.page.remove(this) }, icon('x')));
    const tabs = el('div', { class: 'tabs', role: 'tablist' },
      ['table', 'graph'].map((t) => el('button', {
        type: 'button', class: 'tab' + (p.tab === t ? ' active' : ''), role: 'tab', 'aria-selected': p.tab === t ? 'true' : 'false',
        'data-tab': t, onclick: () => {
          if (p.tab === t) return;
          p.expr = input.value;
          p.tab = t;
          this.page.save(false);
          this.render();
        },
      }, t === 'table' ? 'Table' : 'Graph')));
    this.body = el('div', { class: 'tab-body' });
    this.node.append(head, tabs, this.body);
    requestAnimationFrame(grow);
    if (p.tab === 'table') this.renderTable();
    else this.renderGraph();
  }

  execute(expr) {
    this.p.expr = expr;
    this.page.remember(expr);
    this.page.save(true);
    if (this.p.tab === 'table') this.runTable();
    else this.runGraph();
  }

  set(change, rerender = true) {
    Object.assign(this.p, change);
    this.p.expr = this.input.value;
    this.page.save(false);
    if (rerender) this.render();
  }

  // ---- Table

  renderTable() {
    const p = this.p;
    this.body.append(el('div', { class: 'controls' },
      timeInput('Evaluation time', () => p.endTime, (t) => this.set({ endTime: t }), () => p.range / 2)));
    this.out = el('div', { class: 'result table-result' });
    this.body.appendChild(this.out);
    this.runTable();
  }

  async runTable() {
    const p = this.p;
    this.stop();
    clear(this.out);
    if (!p.expr.trim()) {
      this.out.appendChild(el('div', { class: 'muted empty' }, 'No data queried yet'));
      return;
    }
    this.out.appendChild(loading());
    const ctrl = (this.ctrl = new AbortController());
    const t0 = performance.now();
    let body;
    try {
      body = await api('query', { query: p.expr, time: (p.endTime ?? Date.now()) / 1000 }, { signal: ctrl.signal, full: true });
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(this.out).appendChild(alertBox('error', 'Error executing query:', e.message));
      return;
    }
    const ms = Math.round(performance.now() - t0);
    const data = body.data;
    clear(this.out);
    this.out.append(statsLine(ms, resultCount(data)), ...notes(body));
    const rows = tableRows(data);
    if (!rows.length) {
      this.out.appendChild(alertBox('info', 'Empty query result.', 'This query returned no data.'));
      return;
    }
    if (resultCount(data) > maxTableRows) {
      this.out.appendChild(alertBox('warning', 'Showing limited results.',
        `The query returned ${resultCount(data)} series; only the first ${maxTableRows} are shown.`));
    }
    this.out.appendChild(el('table', { class: 'data-table' }, el('tbody', {}, rows)));
  }

  // ---- Graph

  renderGraph() {
    const p = this.p;
    const yZero = el('input', {
      type: 'checkbox', checked: p.yAxisMin !== null,
      onchange: (e) => this.set({ yAxisMin: e.target.checked ? 0 : null }),
    });
    this.body.append(el('div', { class: 'controls' },
      el('div', { class: 'controls-left' },
        rangeInput(p, (r) => this.set({ range: r })),
        timeInput('End time', () => p.endTime, (t) => this.set({ endTime: t }), () => p.range / 2),
        resolutionInput(p, (r) => this.set({ res: r }))),
      el('div', { class: 'controls-right' },
        segmented([['lines', 'Unstacked'], ['stacked', 'Stacked']], p.displayMode, (m) => this.set({ displayMode: m })),
        el('label', { class: 'check' }, yZero, ' Start Y axis at 0'))));
    this.out = el('div', { class: 'result graph-result' });
    this.body.appendChild(this.out);
    this.runGraph();
  }

  async runGraph() {
    const p = this.p;
    this.stop();
    clear(this.out);
    if (!p.expr.trim()) {
      this.out.appendChild(el('div', { class: 'muted empty' }, 'No data queried yet'));
      return;
    }
    this.out.appendChild(loading());
    const endMs = p.endTime ?? Date.now();
    const stepMs = effectiveStep(p.res, p.range);
    const end = endMs / 1000, start = (endMs - p.range) / 1000, step = stepMs / 1000;
    const ctrl = (this.ctrl = new AbortController());
    const t0 = performance.now();
    let body;
    try {
      body = await api('query_range', { query: p.expr, start, end, step }, { signal: ctrl.signal, full: true });
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(this.out).appendChild(alertBox('error', 'Error executing query:', e.message));
      return;
    }
    const ms = Math.round(performance.now() - t0);
    const data = body.data;
    clear(this.out);
    this.out.append(statsLine(ms, data.result.length, `Resolution: ${formatDuration(stepMs)}`), ...notes(body));
    if (data.resultType !== 'matrix' || !data.result.length) {
      this.out.appendChild(alertBox('info', 'Empty query result.', 'This query returned no data.'));
      return;
    }
    const chart = el('div', { class: 'graph' });
    this.out.appendChild(chart);
    this.cleanupChart = drawGraph(chart, data.result, {
      start, end, step, stacked: p.displayMode === 'stacked', yMin: p.yAxisMin,
      onSelectRange: (a, b) => this.set({ range: Math.max(1000, Math.round(b - a) * 1000), endTime: Math.round(b) * 1000 }),
    });
  }

  // ---- Metrics explorer: every metric name, filtered; a click inserts one.

  async explore() {
    const filterBox = el('input', { class: 'input', type: 'search', placeholder: 'Filter by metric name', 'aria-label': 'Filter metrics' });
    const list = el('ul', { class: 'explorer-list' });
    const close = () => overlay.remove();
    const overlay = el('div', { class: 'modal-overlay', onclick: (e) => e.target === overlay && close() },
      el('div', { class: 'modal', role: 'dialog', 'aria-label': 'Metrics explorer' },
        el('div', { class: 'modal-head' }, el('h2', {}, 'Metrics explorer'),
          el('button', { class: 'btn btn-subtle', type: 'button', onclick: close, 'aria-label': 'Close' }, '✕')),
        filterBox, list));
    document.body.appendChild(overlay);
    filterBox.focus();
    overlay.addEventListener('keydown', (e) => e.key === 'Escape' && close());
    let names = [];
    try {
      names = await metricNames();
    } catch (e) {
      list.appendChild(el('li', {}, alertBox('error', 'Error:', e.message)));
      return;
    }
    const show = () => {
      clear(list);
      const f = filterBox.value.toLowerCase();
      for (const n of names.filter((x) => x.toLowerCase().includes(f)).slice(0, 1000)) {
        list.appendChild(el('li', {}, el('button', {
          type: 'button', class: 'link-btn', onclick: () => {
            const i = this.input;
            const pos = i.selectionStart ?? i.value.length;
            i.value = i.value.slice(0, pos) + n + i.value.slice(i.selectionEnd ?? pos);
            close();
            i.focus();
            i.setSelectionRange(pos + n.length, pos + n.length);
            i.dispatchEvent(new Event('input'));
          },
        }, n)));
      }
    };
    filterBox.addEventListener('input', show);
    show();
  }
}

// ---- The page

export function render(root) {
  resetCache();
  let states = decodePanels(location.search);
  if (!states.length) states = [newPanel()];
  const panels = [];
  const list = el('div', { class: 'panels' });

  const page = {
    save(push) {
      setURLParams(encodePanels(panels.map((x) => x.p)), !push);
    },
    remember(expr) {
      if (!expr.trim()) return;
      const h = getSetting('queryHistory', []).filter((x) => x !== expr);
      h.unshift(expr);
      setSetting('queryHistory', h.slice(0, 50));
    },
    duplicate(panel, expr) {
      const copy = { ...panel.p, expr, res: { ...panel.p.res } };
      const np = new Panel(page, copy);
      panels.splice(panels.indexOf(panel) + 1, 0, np);
      panel.node.after(np.node);
      page.save(true);
    },
    remove(panel) {
      panel.stop();
      panels.splice(panels.indexOf(panel), 1);
      panel.node.remove();
      if (!panels.length) addPanel();
      page.save(true);
    },
  };

  function addPanel(state = newPanel()) {
    const np = new Panel(page, state);
    panels.push(np);
    list.appendChild(np.node);
    return np;
  }

  states.forEach((s) => addPanel(s));
  root.append(list, el('button', {
    class: 'btn btn-default add-panel', type: 'button',
    onclick: () => {
      addPanel().input.focus();
      page.save(true);
    },
  }, '+ Add query'));
  if (panels.length === 1 && !panels[0].p.expr) panels[0].input.focus();
  return () => panels.forEach((x) => x.stop());
}
