// complete.js - autocompletion for the expression input: metric names,
// function and aggregation names, keywords, label names and label values,
// picked by where the cursor stands in the expression.
//
// Rather than a full PromQL parser (upstream uses CodeMirror with a Lezer
// grammar), a small scanner walks the text before the cursor and tracks what
// matters for completion: whether it is inside a string (and which quote
// opened it), inside a label matcher list {...}, inside a range or subquery
// [...], and which word opened each parenthesis (so `sum by (` asks for label
// names).  That is enough to tell apart:
//
//   rate(http_req|               metric, function and keyword names
//   up{job=~"pro|                values of label "job" among series of "up"
//   up{inst|                     label names of series of "up"
//   sum by (jo|                  label names
//
// Names and values come from /api/v1/label/__name__/values, /api/v1/labels
// and /api/v1/label/<name>/values (with match[] for the metric when there is
// one), each fetched once per page and kept.  Metric types and help come
// from /api/v1/metadata.
import { el, api, clear, getSetting } from './lib.js';

// PromQL functions with their argument types, as server/promql/functions.c
// declares them.
const functionSignatures = {
  abs: 'v', absent: 'v', absent_over_time: 'm', acos: 'v', acosh: 'v', asin: 'v', asinh: 'v',
  atan: 'v', atanh: 'v', avg_over_time: 'm', ceil: 'v', changes: 'm', clamp: 'v, s, s',
  clamp_max: 'v, s', clamp_min: 'v, s', cos: 'v', cosh: 'v', count_over_time: 'm',
  day_of_month: 'v', day_of_week: 'v', day_of_year: 'v', days_in_month: 'v', deg: 'v',
  delta: 'm', deriv: 'm', double_exponential_smoothing: 'm, s, s', exp: 'v',
  first_over_time: 'm', floor: 'v', histogram_avg: 'v', histogram_count: 'v',
  histogram_fraction: 's, s, v', histogram_quantile: 's, v', histogram_stddev: 'v',
  histogram_stdvar: 'v', histogram_sum: 'v', hour: 'v', idelta: 'm', increase: 'm',
  info: 'v, v', irate: 'm', label_join: 'v, str, str, str...', label_replace: 'v, str, str, str, str',
  last_over_time: 'm', ln: 'v', log10: 'v', log2: 'v', mad_over_time: 'm', max_over_time: 'm',
  min_over_time: 'm', minute: 'v', month: 'v', pi: '', predict_linear: 'm, s',
  present_over_time: 'm', quantile_over_time: 's, m', rad: 'v', rate: 'm', resets: 'm',
  round: 'v, s', scalar: 'v', sgn: 'v', sin: 'v', sinh: 'v', sort: 'v', sort_by_label: 'v, str...',
  sort_by_label_desc: 'v, str...', sort_desc: 'v', sqrt: 'v', stddev_over_time: 'm',
  stdvar_over_time: 'm', sum_over_time: 'm', tan: 'v', tanh: 'v', time: '', timestamp: 'v',
  ts_of_first_over_time: 'm', ts_of_last_over_time: 'm', ts_of_max_over_time: 'm',
  ts_of_min_over_time: 'm', vector: 's', year: 'v',
};
const typeNames = { v: 'instant-vector', m: 'range-vector', s: 'scalar', str: 'string' };

const aggregations = [
  'avg', 'bottomk', 'count', 'count_values', 'group', 'limit_ratio', 'limitk', 'max', 'min',
  'quantile', 'stddev', 'stdvar', 'sum', 'topk',
];
const keywords = ['and', 'or', 'unless', 'atan2', 'by', 'without', 'on', 'ignoring', 'group_left',
  'group_right', 'offset', 'bool', 'start()', 'end()'];
const labelListWords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

function signature(name) {
  const args = functionSignatures[name]
    .split(', ')
    .filter((a) => a)
    .map((a) => (a.endsWith('...') ? typeNames[a.slice(0, -3)] + '...' : typeNames[a]));
  return `${name}(${args.join(', ')})`;
}

// ---- What the cursor stands in

// The context of the cursor given the text before it: {kind, prefix, from,
// ...} where [from, cursor) is the text a completion replaces, or null when
// nothing is to be completed there.
export function analyze(text) {
  let quote = null, strStart = -1, braceStart = -1, bracket = false;
  const parens = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return null; // in a comment
      i = nl;
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
      strStart = i;
    } else if (c === '{') braceStart = i;
    else if (c === '}') braceStart = -1;
    else if (c === '[') bracket = true;
    else if (c === ']') bracket = false;
    else if (c === '(') {
      const w = text.slice(0, i).match(/([A-Za-z_][A-Za-z0-9_]*)\s*$/);
      parens.push({ pos: i, word: w ? w[1].toLowerCase() : '' });
    } else if (c === ')') parens.pop();
  }
  const metricBefore = (pos) => {
    const m = text.slice(0, pos).match(/([A-Za-z_:][A-Za-z0-9_:]*)\s*$/);
    return m && !functionSignatures[m[1]] && !aggregations.includes(m[1]) ? m[1] : null;
  };
  if (quote) {
    if (braceStart < 0 || strStart < braceStart) return null;
    const m = text.slice(braceStart + 1, strStart).match(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*$/);
    if (!m) return null;
    return {
      kind: 'labelValue', label: m[1], metric: metricBefore(braceStart), quote,
      prefix: text.slice(strStart + 1), from: strStart + 1,
    };
  }
  if (bracket) return null;
  if (braceStart >= 0) {
    const m = text.slice(braceStart + 1).match(/(?:^|,)\s*([A-Za-z_][A-Za-z0-9_]*)?$/);
    if (!m) return null;
    const prefix = m[1] || '';
    return { kind: 'labelName', metric: metricBefore(braceStart), prefix, from: text.length - prefix.length };
  }
  const top = parens[parens.length - 1];
  if (top && labelListWords.has(top.word)) {
    const m = text.slice(top.pos + 1).match(/(?:^|,)\s*([A-Za-z_][A-Za-z0-9_]*)?$/);
    if (m) {
      const prefix = m[1] || '';
      return { kind: 'labelName', metric: null, prefix, from: text.length - prefix.length };
    }
  }
  const w = text.match(/[A-Za-z_:][A-Za-z0-9_:]*$/);
  const prefix = w ? w[0] : '';
  const before = text[text.length - prefix.length - 1];
  if (before && /[0-9.]/.test(before)) return null; // a number's exponent or a duration unit
  return { kind: 'expr', prefix, from: text.length - prefix.length };
}

// ---- Data, fetched once per page

const cache = new Map();

function cached(key, fetcher) {
  if (!cache.has(key)) {
    const p = fetcher().catch((e) => {
      cache.delete(key);
      throw e;
    });
    cache.set(key, p);
  }
  return cache.get(key);
}

export function metricNames() {
  return cached('names', () => api('label/__name__/values'));
}

function metadata() {
  return cached('metadata', () => api('metadata', { limit_per_metric: 1 }).catch(() => ({})));
}

function labelNames(metric) {
  const params = metric ? { 'match[]': [`{__name__="${metric}"}`] } : {};
  return cached('labels/' + (metric || ''), () => api('labels', params));
}

function labelValues(label, metric) {
  const params = metric ? { 'match[]': [`{__name__="${metric}"}`] } : {};
  return cached(`values/${label}/${metric || ''}`, () =>
    api(`label/${encodeURIComponent(label)}/values`, params));
}

// Forget what was fetched (the page was opened again).
export function resetCache() {
  cache.clear();
}

// Candidates that match prefix: those starting with it first, then those
// containing it, each group in its own order.
function filter(items, prefix, limit = 200) {
  const p = prefix.toLowerCase();
  const starts = [], contains = [];
  for (const it of items) {
    const l = it.label.toLowerCase();
    if (l.startsWith(p)) starts.push(it);
    else if (p && l.includes(p)) contains.push(it);
  }
  return starts.concat(contains).slice(0, limit);
}

// A metric's metadata: under its own name, or under its family's name
// (OpenMetrics families drop _total, histograms and summaries their
// _bucket, _count and _sum).
function metadataFor(meta, name) {
  if (meta[name]) return meta[name][0];
  const m = name.match(/^(.*)_(total|count|sum|bucket|created|info)$/);
  return m && meta[m[1]] ? meta[m[1]][0] : null;
}

async function candidates(ctx) {
  switch (ctx.kind) {
    case 'labelValue': {
      const vals = await labelValues(ctx.label, ctx.metric);
      return filter(vals.map((v) => ({ label: v, kind: 'value' })), ctx.prefix);
    }
    case 'labelName': {
      const names = await labelNames(ctx.metric);
      return filter(names.filter((n) => n !== '__name__').map((n) => ({ label: n, kind: 'label' })), ctx.prefix);
    }
    case 'expr': {
      const [names, meta] = await Promise.all([metricNames().catch(() => []), metadata()]);
      const items = [];
      for (const n of names) {
        const md = metadataFor(meta, n);
        items.push({ label: n, kind: 'metric', detail: md ? md.type : '', info: md ? md.help : '' });
      }
      for (const f of Object.keys(functionSignatures)) items.push({ label: f, kind: 'function', detail: signature(f), call: true });
      for (const a of aggregations) items.push({ label: a, kind: 'aggregation', detail: 'aggregation', call: true });
      for (const k of keywords) items.push({ label: k, kind: 'keyword' });
      const found = filter(items, ctx.prefix);
      // at the start of the expression: earlier queries that begin with it
      if (ctx.from === 0 && ctx.prefix) {
        const hist = getSetting('queryHistory', [])
          .filter((h) => h.startsWith(ctx.prefix) && h !== ctx.prefix && !/^[A-Za-z_:][A-Za-z0-9_:]*$/.test(h))
          .slice(0, 5)
          .map((h) => ({ label: h, kind: 'history', detail: 'query history' }));
        return found.concat(hist);
      }
      return found;
    }
  }
  return [];
}

// ---- The dropdown

// Attaches completion to a textarea inside a position: relative wrapper.
// onAccept is called after text was inserted.  Returns {isOpen, close,
// handleKey(ev) -> true when the key was used}.
export function attach(input, wrapper) {
  const list = el('ul', { class: 'ac-list', role: 'listbox', hidden: true });
  wrapper.appendChild(list);
  let items = [], active = 0, ctx = null, seq = 0;

  function close() {
    list.hidden = true;
    items = [];
    ctx = null;
  }

  function show() {
    clear(list);
    if (!items.length) {
      close();
      return;
    }
    items.forEach((it, i) => {
      list.appendChild(el('li', {
        class: 'ac-item' + (i === active ? ' active' : ''), role: 'option', title: it.info || null,
        onmousedown: (ev) => {
          ev.preventDefault();
          accept(i);
        },
      }, el('span', { class: 'ac-kind ac-' + it.kind }, it.kind[0]), el('span', { class: 'ac-text' }, it.label),
      it.detail ? el('span', { class: 'ac-detail' }, it.detail) : null));
    });
    list.hidden = false;
    const a = list.children[active];
    if (a) a.scrollIntoView({ block: 'nearest' });
  }

  async function update(explicit) {
    const pos = input.selectionStart;
    if (pos !== input.selectionEnd) return close();
    const c = analyze(input.value.slice(0, pos));
    if (!c || (c.kind === 'expr' && !c.prefix && !explicit)) return close();
    const my = ++seq;
    let found;
    try {
      found = await candidates(c);
    } catch (e) {
      found = [];
    }
    if (my !== seq || document.activeElement !== input) return;
    // nothing to offer when the word is already complete and alone
    if (!explicit && found.length === 1 && found[0].label === c.prefix) found = [];
    ctx = c;
    items = found;
    active = 0;
    show();
  }

  function accept(i) {
    const it = items[i];
    if (!it || !ctx) return;
    const pos = input.selectionStart;
    const v = input.value;
    let insert = it.label, caret;
    let after = v.slice(pos);
    if (it.kind === 'history') {
      after = '';
      caret = insert.length;
    } else if (ctx.kind === 'labelValue') {
      insert = it.label.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').split(ctx.quote).join('\\' + ctx.quote);
      // drop the rest of the old value up to its closing quote
      const close = after.indexOf(ctx.quote);
      after = close >= 0 ? after.slice(close + 1) : after;
      insert += ctx.quote;
      caret = ctx.from + insert.length;
    } else {
      const rest = after.match(/^[A-Za-z0-9_:]*/)[0];
      after = after.slice(rest.length);
      if (it.call && !after.startsWith('(')) {
        insert += '()';
        caret = ctx.from + insert.length - 1;
      } else caret = ctx.from + insert.length;
    }
    input.value = v.slice(0, ctx.from) + insert + after;
    input.setSelectionRange(caret, caret);
    close();
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  input.addEventListener('input', () => update(false));
  input.addEventListener('blur', () => setTimeout(close, 100));
  input.addEventListener('click', () => close());

  return {
    isOpen: () => !list.hidden,
    close,
    // Keys while the list is open: arrows move, Tab and Enter take the
    // highlighted item (Enter only when it adds something), Escape closes.
    // Ctrl+Space opens the list.  True when the key was used.
    handleKey(ev) {
      if (ev.key === ' ' && ev.ctrlKey) {
        update(true);
        return true;
      }
      if (list.hidden) return false;
      switch (ev.key) {
        case 'ArrowDown':
          active = (active + 1) % items.length;
          show();
          return true;
        case 'ArrowUp':
          active = (active - 1 + items.length) % items.length;
          show();
          return true;
        case 'Tab':
          accept(active);
          return true;
        case 'Enter':
          if (ev.shiftKey || !ctx || items[active].label === ctx.prefix) {
            close();
            return false;
          }
          accept(active);
          return true;
        case 'Escape':
          close();
          return true;
      }
      return false;
    },
  };
}
