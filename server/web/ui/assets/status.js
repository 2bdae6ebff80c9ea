// status.js - the pages that show one API answer each, as upstream's
// Mantine UI does:
//
//   /status       Build information (/api/v1/status/buildinfo) and Runtime
//                 information (/api/v1/status/runtimeinfo), with upstream's
//                 titles for the runtime fields
//   /tsdb-status  head statistics and the four top-10 tables of
//                 /api/v1/status/tsdb
//   /flags        every command-line flag and its value
//                 (/api/v1/status/flags), filterable and sortable
//   /config       the configuration in force (/api/v1/status/config) as YAML,
//                 with a button that copies it
import { el, clear, api, alertBox, loading, card, formatTimeZone, getSetting, debounce } from './lib.js';

async function fetchInto(main, path) {
  main.appendChild(loading());
  try {
    const data = await api(path);
    clear(main);
    return data;
  } catch (e) {
    clear(main).appendChild(alertBox('error', `Error fetching ${path}:`, e.message));
    return null;
  }
}

function kvTable(rows) {
  return el('table', { class: 'data-table kv-table' },
    el('tbody', {}, rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v)))));
}

// ---- /status

const runtimeTitles = {
  startTime: ['Start time', 'time'],
  CWD: ['Working directory'],
  hostname: ['Hostname'],
  serverTime: ['Server time', 'time'],
  reloadConfigSuccess: ['Configuration reload', (v) => (v ? 'Successful' : 'Unsuccessful')],
  lastConfigTime: ['Last successful configuration reload', 'time'],
  corruptionCount: ['WAL corruptions'],
  goroutineCount: ['Goroutines'],
  storageRetention: ['Storage retention'],
};

async function renderStatus(root) {
  const main = el('div', { class: 'stack' });
  root.append(el('h1', { class: 'page-title' }, 'Runtime & build information'), main);
  main.appendChild(loading());
  let build, runtime;
  try {
    [build, runtime] = await Promise.all([api('status/buildinfo'), api('status/runtimeinfo')]);
  } catch (e) {
    clear(main).appendChild(alertBox('error', 'Error fetching status:', e.message));
    return;
  }
  clear(main);
  const local = getSetting('localTime', false);
  const cap = (k) => k.charAt(0).toUpperCase() + k.slice(1);
  main.append(
    card('Build information', kvTable(Object.entries(build).map(([k, v]) => [cap(k), String(v)]))),
    card('Runtime information', kvTable(Object.entries(runtime).map(([k, v]) => {
      const [title, fmt] = runtimeTitles[k] || [k];
      let shown = String(v);
      if (fmt === 'time') shown = formatTimeZone(Date.parse(v), local);
      else if (typeof fmt === 'function') shown = fmt(v);
      return [title, shown];
    }))));
}

// ---- /tsdb-status

async function renderTSDB(root) {
  const main = el('div', { class: 'stack' });
  root.append(el('h1', { class: 'page-title' }, 'TSDB status'), main);
  const d = await fetchInto(main, 'status/tsdb');
  if (!d) return;
  const local = getSetting('localTime', false);
  const time = (ms) => (ms === undefined || Math.abs(ms) >= 9e15 ? 'No datapoints yet' : formatTimeZone(ms, local));
  const h = d.headStats || {};
  main.appendChild(card('TSDB Head Status', kvTable([
    ['Number of Series', h.numSeries], ['Number of Chunks', h.chunkCount], ['Number of Label Pairs', h.numLabelPairs],
    ['Current Min Time', time(h.minTime)], ['Current Max Time', time(h.maxTime)],
  ].map(([k, v]) => [k, String(v)]))));
  const tables = [
    ['Top 10 label names with value count', d.labelValueCountByLabelName, 'Count'],
    ['Top 10 series count by metric names', d.seriesCountByMetricName, 'Count'],
    ['Top 10 label names with high memory usage', d.memoryInBytesByLabelName, 'Bytes'],
    ['Top 10 series count by label value pairs', d.seriesCountByLabelValuePair, 'Count'],
  ];
  for (const [title, stats, unit] of tables) {
    main.appendChild(card(title, el('table', { class: 'data-table' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Name'), el('th', { class: 'num' }, unit))),
      el('tbody', {}, (stats || []).map((s) => el('tr', {}, el('td', {}, el('code', {}, s.name)), el('td', { class: 'num' }, String(s.value))))))));
  }
}

// ---- /flags

async function renderFlags(root) {
  const main = el('div', {});
  root.append(el('h1', { class: 'page-title' }, 'Command-line flags'), main);
  const flags = await fetchInto(main, 'status/flags');
  if (!flags) return;
  let sortBy = 'flag', desc = false;
  const filter = el('input', { class: 'input search', type: 'search', placeholder: 'Filter by flag name or value', 'aria-label': 'Filter flags' });
  const body = el('tbody', {});
  const th = (key, title) => el('th', {
    class: 'sortable', onclick: () => {
      desc = sortBy === key ? !desc : false;
      sortBy = key;
      draw();
    },
  }, title);
  const table = el('table', { class: 'data-table flags-table' }, el('thead', {}, el('tr', {}, th('flag', 'Flag'), th('value', 'Value'))), body);
  function draw() {
    clear(body);
    const f = filter.value.toLowerCase();
    const rows = Object.entries(flags)
      .map(([k, v]) => ['--' + k, String(v)])
      .filter(([k, v]) => !f || k.toLowerCase().includes(f) || v.toLowerCase().includes(f))
      .sort((a, b) => {
        const i = sortBy === 'flag' ? 0 : 1;
        return (a[i] < b[i] ? -1 : a[i] > b[i] ? 1 : 0) * (desc ? -1 : 1);
      });
    for (const [k, v] of rows) body.appendChild(el('tr', {}, el('td', {}, el('code', {}, k)), el('td', {}, el('code', {}, v))));
    if (!rows.length) body.appendChild(el('tr', {}, el('td', { colspan: 2, class: 'muted' }, 'No flags match the filter.')));
  }
  filter.addEventListener('input', debounce(draw, 100));
  main.append(el('div', { class: 'filter-bar' }, filter), card(null, table));
  draw();
}

// ---- /config

// YAML with keys, comments and strings set apart; the text itself is
// unchanged (it is what the copy button copies).
function highlightYAML(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^(\s*(?:- )?)([^\s:#'"][^:#]*?|"[^"]*"|'[^']*')(:)(\s.*|)$/);
    if (m) {
      out.push(m[1], el('span', { class: 'y-key' }, m[2]), m[3]);
      const rest = m[4];
      if (/^\s*#/.test(rest)) out.push(el('span', { class: 'y-comment' }, rest));
      else if (/^\s*["']/.test(rest)) out.push(el('span', { class: 'y-string' }, rest));
      else out.push(rest);
    } else if (/^\s*#/.test(line)) out.push(el('span', { class: 'y-comment' }, line));
    else out.push(line);
    out.push('\n');
  }
  out.pop();
  return out;
}

async function renderConfig(root) {
  const main = el('div', {});
  const copyBtn = el('button', { class: 'btn btn-default', type: 'button' }, 'Copy to clipboard');
  root.append(el('div', { class: 'title-row' }, el('h1', { class: 'page-title' }, 'Configuration'), copyBtn), main);
  const d = await fetchInto(main, 'status/config');
  if (!d) return;
  copyBtn.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(d.yaml);
      copyBtn.textContent = 'Copied';
    } catch (e) {
      copyBtn.textContent = 'Copy failed';
    }
    setTimeout(() => (copyBtn.textContent = 'Copy to clipboard'), 1500);
  });
  main.appendChild(card(null, el('pre', { class: 'config-yaml' }, el('code', {}, highlightYAML(d.yaml)))));
}

export function render(root, path) {
  switch (path) {
    case 'status': return renderStatus(root);
    case 'tsdb-status': return renderTSDB(root);
    case 'flags': return renderFlags(root);
    case 'config': return renderConfig(root);
  }
  return null;
}
