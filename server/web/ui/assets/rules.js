// rules.js - the pages of the rule manager and the notifier, laid out as
// upstream's Mantine UI (Prometheus 3.x) lays them out:
//
//   /alerts                  the alerting rules (/api/v1/rules?type=alert),
//                            one card per rule group with how many of its
//                            rules are firing, pending, inactive (or
//                            unknown); each rule is a collapsible item whose
//                            header counts its firing and pending alerts and
//                            whose body shows the rule (expression, for,
//                            keep_firing_for, labels, annotations) and its
//                            alerts (labels, state, active since, value, and
//                            the alert's annotations unless switched off).
//                            Filters: rule state (any of the four) and text
//                            over the rule's name and labels.
//   /rules                   every rule group (/api/v1/rules) with its last
//                            run, how long it took and its interval; each
//                            rule with its type, last evaluation, duration
//                            and health, and in its body the rule and the
//                            error of its last evaluation.  Filters: health
//                            (ok / unknown / err) and the same text search.
//   /alertmanager-discovery  the active and dropped Alertmanagers
//                            (/api/v1/alertmanagers).
//
// Filters, search and page live in the URL as upstream writes them
// (?state=firing&state=pending&search=x&page=2; ?health=err on /rules), so
// links carry over.  Groups are shown ten to a page (upstream's default;
// the settings alertGroupsPerPage and ruleGroupsPerPage change it), and
// groups that the filters leave empty are hidden unless the user asks for
// them, with a note that says how many were hidden.
//
// Trade-offs: the search is a case-insensitive substring match over the
// name and name="value" label pairs, not upstream's fuzzy KVSearch (simpler
// and predictable, but "hgh" will not find "high").  A rule's body is built
// the first time it is opened, so a page with thousands of rules costs only
// their headers; which rules are open is remembered across redraws (a
// filter change, or the reload that happens when the window regains focus,
// as upstream's query cache does) by group file, group name and the rule's
// position in its group.  The expression is highlighted by a small
// tokenizer below instead of an editor; the button beside it opens the
// query page with the expression in a new tab, as upstream's does.
import {
  el, clear, api, alertBox, loading, labelBadges, ago, humanizeDuration, formatDuration, formatTimeZone,
  urlParams, setURLParams, debounce, getSetting, setSetting, icon,
} from './lib.js';

// ---- PromQL highlighting

const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset',
  'and', 'or', 'unless', 'atan2']);
const labelListWords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const aggregations = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values',
  'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);

// The expression as text nodes and spans of class pq-<kind> (metric, label,
// string, number, function, keyword, comment); the text is unchanged.
export function highlightPromQL(text) {
  const out = [];
  const re = new RegExp([
    '(#[^\\n]*)', // comment
    '("(?:[^"\\\\\\n]|\\\\.)*"?|\'(?:[^\'\\\\\\n]|\\\\.)*\'?|`[^`]*`?)', // string
    '(0[xX][0-9a-fA-F]+|(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?(?:(?:ms|[smhdwy])(?:\\d+(?:ms|[smhdwy]))*)?)',
    '([a-zA-Z_:][a-zA-Z0-9_:]*)', // identifier
    '(\\s+)',
    '([^])',
  ].join('|'), 'g');
  let depth = 0; // inside {...}
  let listNext = false; // after by/without/on/...: the next "(" opens a label list
  let inList = false;
  const span = (kind, t) => out.push(el('span', { class: 'pq-' + kind }, t));
  let m;
  while ((m = re.exec(text))) {
    const [t, comment, str, num, ident, ws] = m;
    if (ws) {
      out.push(t);
      continue;
    }
    const wasListNext = listNext;
    listNext = false;
    if (comment) span('comment', t);
    else if (str) span('string', t);
    else if (num) span('number', t);
    else if (ident) {
      const lower = ident.toLowerCase();
      const rest = text.slice(re.lastIndex);
      if (depth > 0 || inList) span('label', t);
      else if (keywords.has(lower)) {
        span('keyword', t);
        listNext = labelListWords.has(lower);
      } else if (lower === 'inf' || lower === 'nan') span('number', t);
      else if (/^\s*\(/.test(rest) || (aggregations.has(lower) && /^\s*(by|without)\b/i.test(rest))) span('function', t);
      else span('metric', t);
    } else {
      if (t === '{') depth++;
      else if (t === '}') depth = Math.max(0, depth - 1);
      else if (t === '(' && wasListNext) inList = true;
      else if (t === ')') inList = false;
      out.push(t);
    }
  }
  return out;
}

// ---- Shared pieces

function statBadge(iconName, text, title) {
  return el('span', { class: 'badge stat-badge', title }, icon(iconName), text);
}

function stateBadge(cls, text) {
  return el('span', { class: 'badge health health-' + cls }, text);
}

// The link to the query page's table tab with the expression, as
// upstream's button writes it.
export function queryLink(expr) {
  return 'query?g0.expr=' + encodeURIComponent(expr) + '&g0.tab=1';
}

function annotationsTable(annotations, cls) {
  const keys = Object.keys(annotations || {});
  if (!keys.length) return null;
  return el('table', { class: 'data-table annotations-table ' + (cls || '') },
    el('tbody', {}, keys.map((k) => el('tr', {}, el('th', {}, k), el('td', {}, annotations[k])))));
}

// What upstream's RuleDefinition shows: the expression with a button to
// query it, for and keep_firing_for of an alerting rule, the rule's labels
// and an alerting rule's annotations.
function ruleDefinition(rule) {
  const out = [el('div', { class: 'codebox' },
    el('pre', { class: 'rule-expr' }, el('code', {}, highlightPromQL(rule.query))),
    el('a', {
      class: 'btn btn-default icon-btn query-link', href: queryLink(rule.query), target: '_blank', rel: 'noopener',
      title: 'Query rule expression', 'aria-label': 'Query rule expression',
    }, icon('search')))];
  if (rule.type === 'alerting' && (rule.duration || rule.keepFiringFor)) {
    out.push(el('div', { class: 'badges rule-timing' },
      rule.duration ? statBadge('clock', 'for: ' + formatDuration(rule.duration * 1000), 'Pending duration before firing') : null,
      rule.keepFiringFor ? statBadge('clock', 'keep_firing_for: ' + formatDuration(rule.keepFiringFor * 1000),
        'How long the alert keeps firing after the condition cleared') : null));
  }
  if (rule.labels && Object.keys(rule.labels).length) out.push(el('div', { class: 'rule-labels' }, labelBadges(rule.labels)));
  if (rule.type === 'alerting') out.push(annotationsTable(rule.annotations, 'rule-annotations'));
  return out;
}

function listParam(q, name) {
  return q.getAll(name).flatMap((v) => v.split(',')).filter((v) => v);
}

function matchesSearch(search, rule) {
  if (!search) return true;
  const s = search.toLowerCase();
  const texts = [rule.name || '', ...Object.entries(rule.labels || {}).map(([k, v]) => `${k}="${v}"`)];
  return texts.some((t) => t.toLowerCase().includes(s));
}

function pager(pages, current, onPage) {
  if (pages <= 1) return null;
  const btn = (p, text, disabled) => el('button', {
    class: 'btn btn-default' + (p === current && text === String(p) ? ' active' : ''), type: 'button',
    disabled: disabled || null, 'data-page-number': text === String(p) ? p : null, onclick: () => onPage(p),
  }, text);
  const nums = [];
  for (let p = 1; p <= pages; p++) {
    if (p === 1 || p === pages || Math.abs(p - current) <= 2) nums.push(btn(p, String(p)));
    else if (nums.length && nums[nums.length - 1].textContent !== '…') nums.push(el('span', { class: 'muted' }, '…'));
  }
  return el('nav', { class: 'pager', 'aria-label': 'Pages' },
    btn(current - 1, '‹', current <= 1), nums, btn(current + 1, '›', current >= pages));
}

// The state of a page of rule groups kept in the URL.
function readState(filterName) {
  const q = urlParams();
  return { filter: listParam(q, filterName), search: q.get('search') || '', page: Math.max(1, parseInt(q.get('page'), 10) || 1) };
}

function writeState(state, filterName) {
  const q = new URLSearchParams();
  for (const f of state.filter) q.append(filterName, f);
  if (state.search) q.set('search', state.search);
  if (state.page > 1) q.set('page', String(state.page));
  setURLParams(q, true);
}

// A collapsible rule: the header is always there, the body is built by
// fill() when the rule is first opened.  `open` is the page's set of open
// rule keys.
function ruleItem(key, open, cls, name, head, fill) {
  const body = el('div', { class: 'rule-body' });
  const d = el('details', { class: 'rule rule-' + cls, 'data-rule': name, open: open.has(key) },
    el('summary', { class: 'rule-head' }, head), body);
  let filled = false;
  const ensure = () => {
    if (!filled) {
      filled = true;
      body.append(...fill().filter((x) => x));
    }
  };
  if (open.has(key)) ensure();
  d.addEventListener('toggle', () => {
    if (d.open) {
      open.add(key);
      ensure();
    } else open.delete(key);
  });
  return d;
}

// The frame both group pages share: the filter bar (built once), the list
// of groups with paging and the empty-group note, reloads when the window
// regains focus.  cfg: {title, filterName, options: [[value, badge class]],
// placeholder, load() -> groups, ruleState(rule), counts(groups) -> {value:
// n} or null, groupHead(group, filteredRules), ruleNode(group, rule, index,
// key, open), perPageSetting, extra (a node for the filter bar)}.
async function groupsPage(root, cfg) {
  const state = readState(cfg.filterName);
  const main = el('div', {});
  root.append(el('h1', { class: 'page-title' }, cfg.title), main);
  main.appendChild(loading());
  let groups;
  try {
    groups = await cfg.load();
  } catch (e) {
    clear(main).appendChild(alertBox('error', 'Error fetching rules:', e.message));
    return null;
  }
  const open = new Set();
  const list = el('div', { class: 'rule-groups' });
  const countNodes = {};
  const checks = cfg.options.map(([o, cls]) => {
    countNodes[o] = el('span', { class: 'chip-count' });
    return el('label', { class: 'check chip chip-state' },
      el('input', {
        type: 'checkbox', value: o, checked: state.filter.includes(o), 'data-filter': o,
        onchange: (e) => {
          state.filter = state.filter.filter((x) => x !== o);
          if (e.target.checked) state.filter.push(o);
          state.page = 1;
          writeState(state, cfg.filterName);
          draw();
        },
      }), el('span', { class: 'dot dot-' + cls }), el('span', {}, o, countNodes[o]));
  });
  const search = el('input', {
    class: 'input search', type: 'search', placeholder: 'Filter by rule name or labels', value: state.search,
    'aria-label': 'Search',
  });
  search.addEventListener('input', debounce(() => {
    state.search = search.value.trim();
    state.page = 1;
    writeState(state, cfg.filterName);
    draw();
  }, 250));
  clear(main).append(el('div', { class: 'filter-bar' }, el('div', { class: 'chips', title: cfg.placeholder }, checks),
    search, cfg.extra || null), list);

  function draw() {
    const counts = cfg.counts ? cfg.counts(groups) : null;
    for (const [o] of cfg.options) countNodes[o].textContent = counts ? ` (${counts[o] || 0})` : '';
    clear(list);
    if (!groups.length) {
      list.appendChild(alertBox('info', 'No rules found.', cfg.emptyText));
      return;
    }
    const showEmpty = getSetting('showEmptyGroups', false);
    const shown = groups.map((g) => ({
      g,
      rules: g.rules.map((r, i) => ({ r, i }))
        .filter(({ r }) => (!state.filter.length || state.filter.includes(cfg.ruleState(r))) && matchesSearch(state.search, r)),
    }));
    const visible = showEmpty ? shown : shown.filter((s) => s.rules.length);
    const hidden = shown.length - visible.length;
    if (hidden) {
      list.appendChild(el('div', { class: 'alert alert-info hidden-groups', role: 'alert' },
        el('strong', {}, 'Hiding groups with no matching rules. '),
        `Hiding ${hidden} empty group${hidden === 1 ? '' : 's'} due to filters or no rules. `,
        el('button', { class: 'link-btn', type: 'button', onclick: () => { setSetting('showEmptyGroups', true); draw(); } },
          'Show empty groups')));
    }
    const perPage = Math.max(1, parseInt(getSetting(cfg.perPageSetting, 10), 10) || 10);
    const pages = Math.max(1, Math.ceil(visible.length / perPage));
    if (state.page > pages) {
      state.page = pages;
      writeState(state, cfg.filterName);
    }
    const onPage = (p) => {
      state.page = p;
      writeState(state, cfg.filterName);
      draw();
      window.scrollTo(0, 0);
    };
    if (pages > 1) list.appendChild(pager(pages, state.page, onPage));
    const hideLink = () => el('button', {
      class: 'link-btn', type: 'button', onclick: () => { setSetting('showEmptyGroups', false); draw(); },
    }, 'Hide empty groups');
    for (const { g, rules } of visible.slice((state.page - 1) * perPage, state.page * perPage)) {
      let body;
      if (!g.rules.length) {
        body = el('div', { class: 'alert alert-info', role: 'alert' }, el('strong', {}, 'No rules. '), 'No rules in this group. ', hideLink());
      } else if (!rules.length) {
        body = el('div', { class: 'alert alert-info', role: 'alert' }, el('strong', {}, 'No matching rules. '),
          `No rules in this group match your filter criteria (omitted ${g.rules.length} filtered rules). `, hideLink());
      } else {
        const gkey = g.file + '\u0000' + g.name + '\u0000';
        body = el('div', { class: 'rule-list' }, rules.map(({ r, i }) => cfg.ruleNode(g, r, gkey + i, open)));
      }
      list.appendChild(el('section', { class: 'card rule-group', 'data-group': g.name, 'data-file': g.file },
        el('div', { class: 'group-head' },
          el('div', { class: 'group-title' }, el('span', { class: 'group-name' }, g.name), el('span', { class: 'group-file muted small' }, g.file)),
          cfg.groupHead(g)),
        body));
    }
    if (pages > 1) list.appendChild(pager(pages, state.page, onPage));
  }
  draw();

  // refetch when the window regains focus, as upstream's query cache does
  // (at most every few seconds: focus and visibility changes come in pairs)
  let stopped = false, busy = false, last = Date.now();
  const refresh = async () => {
    if (document.visibilityState !== 'visible' || busy || Date.now() - last < 5000) return;
    busy = true;
    try {
      const fresh = await cfg.load();
      last = Date.now();
      if (!stopped) {
        groups = fresh;
        draw();
      }
    } catch (e) {
      // keep what is shown
    }
    busy = false;
  };
  window.addEventListener('focus', refresh);
  document.addEventListener('visibilitychange', refresh);
  return () => {
    stopped = true;
    window.removeEventListener('focus', refresh);
    document.removeEventListener('visibilitychange', refresh);
  };
}

// ---- /alerts

const alertStates = [['inactive', 'ok'], ['pending', 'warn'], ['firing', 'err'], ['unknown', 'unknown']];
const stateCls = Object.fromEntries(alertStates);

function alertValue(v) {
  const n = Number(v);
  return isNaN(n) ? String(v) : String(n);
}

function alertsTable(rule, showAnnotations) {
  if (!rule.alerts || !rule.alerts.length) return null;
  const rows = [];
  for (const a of rule.alerts) {
    const t = Date.parse(a.activeAt);
    rows.push(el('tr', { class: 'alert-row', 'data-state': a.state },
      el('td', {}, labelBadges(a.labels || {})),
      el('td', {}, stateBadge(a.state === 'firing' ? 'err' : 'warn', a.state)),
      el('td', { class: 'nowrap active-since', title: isNaN(t) ? a.activeAt : formatTimeZone(t) },
        isNaN(t) ? '' : humanizeDuration(Math.max(0, Date.now() - t))),
      el('td', { class: 'nowrap alert-value' }, alertValue(a.value))));
    const ann = annotationsTable(a.annotations, 'alert-annotations');
    if (ann) rows.push(el('tr', { class: 'alert-annotations-row', hidden: !showAnnotations }, el('td', { colspan: 4 }, ann)));
  }
  return el('table', { class: 'data-table alerts-table' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Alert labels'), el('th', {}, 'State'), el('th', {}, 'Active Since'), el('th', {}, 'Value'))),
    el('tbody', {}, rows));
}

function renderAlerts(root) {
  const annotations = el('input', {
    type: 'checkbox', checked: getSetting('showAnnotations', true), 'data-setting': 'showAnnotations',
    onchange: (e) => {
      setSetting('showAnnotations', e.target.checked);
      // rules opened later read the setting when their bodies are built
      document.querySelectorAll('.alert-annotations-row').forEach((r) => { r.hidden = !e.target.checked; });
    },
  });
  return groupsPage(root, {
    title: 'Alerts',
    filterName: 'state',
    options: alertStates,
    placeholder: 'Filter by rule state',
    emptyText: 'No alerting rules are configured.',
    perPageSetting: 'alertGroupsPerPage',
    extra: el('label', { class: 'check', title: 'Show the annotations of each alert' }, annotations, ' Show annotations'),
    load: async () => (await api('rules', { type: 'alert' })).groups || [],
    ruleState: (r) => r.state,
    counts: (groups) => {
      const c = {};
      for (const g of groups) for (const r of g.rules) c[r.state] = (c[r.state] || 0) + 1;
      return c;
    },
    groupHead: (g) => {
      const c = {};
      for (const r of g.rules) c[r.state] = (c[r.state] || 0) + 1;
      return el('div', { class: 'badges group-counts' },
        ['firing', 'pending', 'unknown', 'inactive'].filter((s) => c[s])
          .map((s) => stateBadge(stateCls[s], `${s} (${c[s]})`)));
    },
    ruleNode: (g, r, key, open) => {
      const alerts = r.alerts || [];
      const firing = alerts.filter((a) => a.state === 'firing').length;
      const pending = alerts.filter((a) => a.state === 'pending').length;
      const cls = firing ? 'err' : pending ? 'warn' : r.state === 'unknown' ? 'unknown' : 'ok';
      const head = [el('span', { class: 'rule-name' }, r.name),
        el('span', { class: 'badges rule-counts' },
          firing ? stateBadge('err', `firing (${firing})`) : null,
          pending ? stateBadge('warn', `pending (${pending})`) : null)];
      return ruleItem(key, open, cls, r.name, head, () => [
        ...ruleDefinition(r),
        alertsTable(r, getSetting('showAnnotations', true)),
      ]);
    },
  });
}

// ---- /rules

const healthCls = { ok: 'ok', err: 'err', unknown: 'unknown' };

function renderRules(root) {
  return groupsPage(root, {
    title: 'Rule health',
    filterName: 'health',
    options: [['ok', 'ok'], ['unknown', 'unknown'], ['err', 'err']],
    placeholder: 'Filter by rule health',
    emptyText: 'No rule groups are configured.',
    perPageSetting: 'ruleGroupsPerPage',
    load: async () => (await api('rules')).groups || [],
    ruleState: (r) => r.health,
    counts: null,
    groupHead: (g) => el('div', { class: 'badges group-stats' },
      statBadge('refresh', 'last run ' + ago(g.lastEvaluation), 'Last group evaluation'),
      statBadge('hourglass', 'took ' + humanizeDuration(parseFloat(g.evaluationTime) * 1000), 'Duration of last group evaluation'),
      statBadge('repeat', 'every ' + humanizeDuration(parseFloat(g.interval) * 1000), 'Group evaluation interval')),
    ruleNode: (g, r, key, open) => {
      const health = healthCls[r.health] || 'unknown';
      const alerting = r.type === 'alerting';
      const head = [
        el('span', { class: 'rule-name' },
          el('span', { class: 'rule-type', title: alerting ? 'Alerting rule' : 'Recording rule', 'data-type': r.type },
            icon(alerting ? 'bell' : 'timeline')), r.name),
        el('span', { class: 'badges rule-stats' },
          statBadge('refresh', ago(r.lastEvaluation), 'Last rule evaluation'),
          statBadge('hourglass', humanizeDuration(parseFloat(r.evaluationTime) * 1000), 'Duration of last rule evaluation'),
          stateBadge(health, r.health || 'unknown')),
      ];
      return ruleItem(key, open, health, r.name, head, () => [
        ...ruleDefinition(r),
        r.lastError ? el('div', { class: 'alert alert-error rule-error', role: 'alert' },
          el('div', {}, el('strong', {}, 'Rule failed to evaluate')), el('strong', {}, 'Error: '), r.lastError) : null,
      ]);
    },
  });
}

// ---- /alertmanager-discovery

function amCard(title, iconName, ams, emptyTitle, emptyText, cls) {
  return el('section', { class: 'card am-card ' + cls },
    el('h2', { class: 'card-title title-with-icon' }, icon(iconName), title),
    ams.length
      ? el('table', { class: 'data-table am-table' }, el('tbody', {}, ams.map((a) => el('tr', {},
        el('td', {}, el('a', { href: a.url, target: '_blank', rel: 'noreferrer' }, a.url))))))
      : alertBox('info', emptyTitle, emptyText));
}

async function renderAlertmanagers(root) {
  const main = el('div', { class: 'stack narrow' });
  root.append(el('h1', { class: 'page-title' }, 'Alertmanager discovery'), main);
  main.appendChild(loading());
  let d;
  try {
    d = await api('alertmanagers');
  } catch (e) {
    clear(main).appendChild(alertBox('error', 'Error fetching Alertmanagers:', e.message));
    return null;
  }
  clear(main).append(
    amCard('Active Alertmanagers', 'bell', d.activeAlertmanagers || [], 'No active alertmanagers',
      'No active alertmanagers found.', 'am-active'),
    amCard('Dropped Alertmanagers', 'bellOff', d.droppedAlertmanagers || [], 'No dropped alertmanagers',
      'No dropped alertmanagers found.', 'am-dropped'));
  return null;
}

export function render(root, path) {
  switch (path) {
    case 'alerts': return renderAlerts(root);
    case 'rules': return renderRules(root);
    case 'alertmanager-discovery': return renderAlertmanagers(root);
  }
  return null;
}
