// targets.js - the Target health page (/targets) and the Service discovery
// page (/service-discovery), both from /api/v1/targets, as upstream shows
// them: one collapsible section per scrape pool.
//
// Targets: each pool's header counts the targets up, with a bar of up,
// unknown and down; its table lists endpoint, labels, last scrape (how long
// ago, how long it took, interval and timeout) and state, and the last
// error under a target that has one.  Filters: pool, health (any of
// up/down/unknown) and free text over endpoint and labels.
//
// Service discovery: each pool's header counts active targets against all
// discovered; its table puts the discovered labels beside the labels after
// relabeling, or "dropped" for a target relabeling dropped.  Filters: pool,
// state (active/dropped) and text.
//
// The filters live in the URL (?pool=...&health=up,down&search=...), and the
// targets page refreshes itself every 10 seconds while it is open.
import {
  el, clear, api, alertBox, loading, labelBadges, ago, humanizeDuration, urlParams, setURLParams,
  debounce,
} from './lib.js';

function matchesSearch(search, target) {
  if (!search) return true;
  const s = search.toLowerCase();
  const texts = [target.scrapeUrl || '', ...Object.entries(target.labels || {}).map(([k, v]) => `${k}="${v}"`),
    ...Object.entries(target.discoveredLabels || {}).map(([k, v]) => `${k}="${v}"`)];
  return texts.some((t) => t.toLowerCase().includes(s));
}

function filterBar(pools, state, opts, onChange) {
  const poolSel = el('select', { class: 'input', 'aria-label': 'Scrape pool' },
    el('option', { value: '' }, 'All scrape pools'),
    pools.map((p) => el('option', { value: p, selected: p === state.pool }, p)));
  poolSel.addEventListener('change', () => onChange({ pool: poolSel.value }));
  const checks = opts.map((o) => el('label', { class: 'check chip' },
    el('input', {
      type: 'checkbox', value: o, checked: state.filter.includes(o), 'data-filter': o,
      onchange: (e) => {
        const f = state.filter.filter((x) => x !== o);
        if (e.target.checked) f.push(o);
        onChange({ filter: f });
      },
    }), ' ' + o));
  const search = el('input', {
    class: 'input search', type: 'search', placeholder: 'Filter by endpoint or labels',
    value: state.search, 'aria-label': 'Search',
  });
  search.addEventListener('input', debounce(() => onChange({ search: search.value }, true), 200));
  return el('div', { class: 'filter-bar' }, poolSel, el('div', { class: 'chips' }, checks), search);
}

function readState(filterName) {
  const q = urlParams();
  return {
    pool: q.get('pool') || '',
    filter: (q.get(filterName) || '').split(',').filter((x) => x),
    search: q.get('search') || '',
  };
}

function writeState(state, filterName) {
  const q = new URLSearchParams();
  if (state.pool) q.set('pool', state.pool);
  if (state.filter.length) q.set(filterName, state.filter.join(','));
  if (state.search) q.set('search', state.search);
  setURLParams(q, true);
}

function collapsible(title, right, body, open = true) {
  return el('details', { class: 'pool', open },
    el('summary', { class: 'pool-head' }, el('span', { class: 'pool-name' }, title), right), body);
}

function healthBadge(health) {
  const cls = health === 'up' ? 'ok' : health === 'down' ? 'err' : 'unknown';
  return el('span', { class: 'badge health health-' + cls }, health);
}

// ---- /targets

async function renderTargets(root) {
  const state = readState('health');
  const main = el('div', {});
  root.append(el('h1', { class: 'page-title' }, 'Target health'), main);
  main.appendChild(loading());
  let data = null, poolNames = [], timer = null, stopped = false;

  async function load() {
    try {
      // every configured pool, also those without targets (as upstream)
      [data, poolNames] = await Promise.all([
        api('targets', { state: 'active' }),
        api('scrape_pools').then((d) => d.scrapePools || []).catch(() => []),
      ]);
    } catch (e) {
      clear(main).appendChild(alertBox('error', 'Error fetching targets:', e.message));
      return;
    }
    if (!stopped) draw();
  }

  const list = el('div', { class: 'pools' });
  let bar = null;
  function draw() {
    const targets = data.activeTargets || [];
    const pools = [...new Set([...poolNames, ...targets.map((t) => t.scrapePool)])].sort();
    if (!bar) {
      // built once, so a refresh does not take the focus from the search box
      bar = filterBar(pools, state, ['up', 'down', 'unknown'], (change) => {
        Object.assign(state, change);
        writeState(state, 'health');
        draw();
      });
      clear(main).append(bar, list);
    }
    const closed = new Set([...list.querySelectorAll('details.pool:not([open])')].map((d) => d.dataset.pool));
    function drawPools() {
      clear(list);
      let shownPools = 0;
      for (const pool of pools) {
        if (state.pool && pool !== state.pool) continue;
        const all = targets.filter((t) => t.scrapePool === pool);
        const up = all.filter((t) => t.health === 'up').length;
        const down = all.filter((t) => t.health === 'down').length;
        const unknown = all.length - up - down;
        const shown = all.filter((t) => (!state.filter.length || state.filter.includes(t.health)) && matchesSearch(state.search, t));
        if (!shown.length && (state.filter.length || state.search)) continue;
        shownPools++;
        const pct = (x) => (all.length ? (100 * x) / all.length : 0);
        const right = el('span', { class: 'pool-summary' },
          el('span', { class: 'muted' }, `${up} / ${all.length} up`),
          el('span', { class: 'health-bar' },
            el('span', { class: 'bar-ok', style: `width:${pct(up)}%` }),
            el('span', { class: 'bar-unknown', style: `width:${pct(unknown)}%` }),
            el('span', { class: 'bar-err', style: `width:${pct(down)}%` })));
        const rows = [];
        for (const t of shown) {
          rows.push(el('tr', { class: 'target', 'data-health': t.health },
            el('td', { class: 'endpoint' }, el('a', { href: t.globalUrl || t.scrapeUrl, target: '_blank', rel: 'noreferrer' }, t.scrapeUrl)),
            el('td', {}, labelBadges(t.labels || {})),
            el('td', { class: 'last-scrape' },
              el('div', {}, ago(t.lastScrape)),
              el('div', { class: 'muted small' }, `took ${humanizeDuration(t.lastScrapeDuration * 1000)}`,
                ` · every ${t.scrapeInterval}, timeout ${t.scrapeTimeout}`)),
            el('td', {}, healthBadge(t.health))));
          if (t.lastError) {
            rows.push(el('tr', { class: 'target-error' }, el('td', { colspan: 4 },
              alertBox('error', 'Error scraping target:', t.lastError))));
          }
        }
        const table = all.length
          ? el('table', { class: 'data-table targets-table' },
            el('thead', {}, el('tr', {}, el('th', {}, 'Endpoint'), el('th', {}, 'Labels'), el('th', {}, 'Last scrape'), el('th', {}, 'State'))),
            el('tbody', {}, rows))
          : alertBox('info', 'No targets', 'This scrape pool has no targets.');
        const d = collapsible(pool, right, table, !closed.has(pool));
        d.dataset.pool = pool;
        list.appendChild(d);
      }
      if (!shownPools) list.appendChild(alertBox('info', 'No scrape pools found', pools.length ? 'No targets match the filters.' : 'No targets are configured.'));
    }
    drawPools();
  }

  await load();
  timer = setInterval(load, 10000);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

// ---- /service-discovery

async function renderSD(root) {
  const state = readState('state');
  const main = el('div', {});
  root.append(el('h1', { class: 'page-title' }, 'Service discovery'), main);
  main.appendChild(loading());
  let data;
  try {
    data = await api('targets');
  } catch (e) {
    clear(main).appendChild(alertBox('error', 'Error fetching targets:', e.message));
    return null;
  }
  const active = data.activeTargets || [], dropped = data.droppedTargets || [];
  const counts = data.droppedTargetCounts || {};
  const pools = [...new Set([...active.map((t) => t.scrapePool), ...dropped.map((t) => t.scrapePool), ...Object.keys(counts)])].sort();

  function draw() {
    clear(main);
    main.appendChild(filterBar(pools, state, ['active', 'dropped'], (change) => {
      Object.assign(state, change);
      writeState(state, 'state');
      draw();
    }));
    const list = el('div', { class: 'pools' });
    main.appendChild(list);
    let shownPools = 0;
    for (const pool of pools) {
      if (state.pool && pool !== state.pool) continue;
      const act = active.filter((t) => t.scrapePool === pool);
      const drop = dropped.filter((t) => t.scrapePool === pool);
      const total = act.length + (counts[pool] !== undefined ? counts[pool] : drop.length);
      const rows = [];
      const want = (s) => !state.filter.length || state.filter.includes(s);
      if (want('active')) {
        for (const t of act.filter((x) => matchesSearch(state.search, x))) {
          rows.push(el('tr', { class: 'sd-target' }, el('td', {}, labelBadges(t.discoveredLabels || {})), el('td', {}, labelBadges(t.labels || {}))));
        }
      }
      if (want('dropped')) {
        for (const t of drop.filter((x) => matchesSearch(state.search, x))) {
          rows.push(el('tr', { class: 'sd-target dropped' }, el('td', {}, labelBadges(t.discoveredLabels || {})),
            el('td', {}, el('span', { class: 'badge health health-unknown' }, 'dropped'))));
        }
      }
      if (!rows.length && (state.filter.length || state.search)) continue;
      shownPools++;
      const body = rows.length
        ? el('table', { class: 'data-table sd-table' },
          el('thead', {}, el('tr', {}, el('th', {}, 'Discovered labels'), el('th', {}, 'Target labels'))),
          el('tbody', {}, rows))
        : alertBox('info', 'No targets', 'No targets were discovered in this pool.');
      list.appendChild(collapsible(pool, el('span', { class: 'muted' }, `${act.length} / ${total} active targets`), body));
    }
    if (!shownPools) list.appendChild(alertBox('info', 'No scrape pools found', 'No targets match the filters.'));
    if (Object.values(counts).some((c, i) => c > dropped.filter((t) => t.scrapePool === Object.keys(counts)[i]).length)) {
      list.appendChild(el('p', { class: 'muted small' },
        'Some pools dropped more targets than the server keeps details for (keep_dropped_targets).'));
    }
  }
  draw();
  return null;
}

export function render(root, path) {
  return path === 'service-discovery' ? renderSD(root) : renderTargets(root);
}

