// lib.js - what every page of the UI shares: building DOM nodes, calling the
// JSON API, settings kept in localStorage, and formatting of durations, times,
// values and series names the way upstream's UI formats them.
//
// Every URL here is relative: the pages live one level below the route
// prefix (<prefix>/query, <prefix>/targets, ...), so "api/v1/query" reaches
// the API under any --web.route-prefix or --web.external-url path.

// el('div', {class: 'x', onclick: f}, child, [children], 'text') builds an
// element; null, undefined and false children are skipped.
export function el(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const node = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'value' && !svg) node.value = v;
    else if (k === 'checked' && !svg) node.checked = !!v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else if (c instanceof Node) node.appendChild(c);
    else node.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// ---- The API

export class APIError extends Error {
  constructor(message, type) {
    super(message);
    this.type = type;
  }
}

// api('query', {query: 'up'}) resolves to the envelope's data and throws an
// APIError with the server's message on an error.  A parameter whose value
// is an array is repeated (match[]).  With {full: true} the whole envelope
// is returned (for warnings and infos).
export async function api(path, params, opts = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const qs = q.toString();
  let res;
  try {
    res = await fetch('api/v1/' + path + (qs ? '?' + qs : ''), {
      signal: opts.signal,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new APIError('Cannot reach the server: ' + e.message, 'network');
  }
  let body;
  try {
    body = await res.json();
  } catch (e) {
    throw new APIError(`Unexpected answer (HTTP ${res.status} ${res.statusText})`, 'bad_response');
  }
  if (body.status !== 'success') {
    throw new APIError(body.error || `HTTP ${res.status}`, body.errorType || 'unknown');
  }
  return opts.full ? body : body.data;
}

// ---- Settings

const settingsKey = 'prom.ui.';

export function getSetting(name, dflt) {
  try {
    const v = localStorage.getItem(settingsKey + name);
    return v === null ? dflt : JSON.parse(v);
  } catch (e) {
    return dflt;
  }
}

export function setSetting(name, value) {
  try {
    localStorage.setItem(settingsKey + name, JSON.stringify(value));
  } catch (e) {
    // private mode: settings last for the page only
  }
}

// ---- Durations

const durationUnits = [
  ['y', 365 * 24 * 3600 * 1000],
  ['w', 7 * 24 * 3600 * 1000],
  ['d', 24 * 3600 * 1000],
  ['h', 3600 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
];

// Prometheus duration text ("1h30m", "15s", "0s") from milliseconds.
export function formatDuration(ms) {
  if (!ms) return '0s';
  let out = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  for (const [unit, size] of durationUnits) {
    if (rest >= size) {
      out += Math.floor(rest / size) + unit;
      rest %= size;
    }
  }
  return out;
}

// Milliseconds from Prometheus duration text, or null when it is not one.
export function parseDuration(text) {
  const s = String(text).trim();
  if (s === '') return null;
  const m = s.match(/^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/);
  if (!m) return null;
  let ms = 0;
  for (let i = 0; i < durationUnits.length; i++) {
    const v = m[2 + 2 * i];
    if (v !== undefined) ms += parseInt(v, 10) * durationUnits[i][1];
  }
  return ms;
}

// A duration for people: "1m 2.345s", "153.2ms", "2d 3h 4m 5s".
export function humanizeDuration(ms) {
  if (!isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  ms = Math.abs(ms);
  if (ms < 1000) return sign + +ms.toFixed(3) + 'ms';
  const parts = [];
  const d = Math.floor(ms / 86400000);
  const h = Math.floor((ms % 86400000) / 3600000);
  const m = Math.floor((ms % 3600000) / 60000);
  const s = (ms % 60000) / 1000;
  if (d) parts.push(d + 'd');
  if (h) parts.push(h + 'h');
  if (m) parts.push(m + 'm');
  if (s) parts.push((d || h ? Math.round(s) : +s.toFixed(3)) + 's');
  return sign + (parts.join(' ') || '0s');
}

// "1.234s ago" for an RFC3339 time relative to now.
export function ago(rfc3339, now = Date.now()) {
  const t = Date.parse(rfc3339);
  if (isNaN(t) || t <= 0 || rfc3339.startsWith('0001-')) return 'never';
  const d = now - t;
  return d < 0 ? 'in ' + humanizeDuration(-d) : humanizeDuration(d) + ' ago';
}

// ---- Times

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

// "2024-05-01 13:04:05" (UTC unless local), milliseconds shown when not zero
// and withMs.
export function formatTime(ms, local = getSetting('localTime', false), withMs = false) {
  const d = new Date(ms);
  if (isNaN(d.getTime())) return 'Invalid time';
  const g = local
    ? [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()]
    : [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()];
  let s = `${g[0]}-${pad(g[1])}-${pad(g[2])} ${pad(g[3])}:${pad(g[4])}:${pad(g[5])}`;
  if (withMs && g[6]) s += '.' + pad(g[6], 3);
  return s;
}

// formatTime with the zone: "... UTC" or "... +02:00".
export function formatTimeZone(ms, local = getSetting('localTime', false)) {
  if (!local) return formatTime(ms, false, true) + ' UTC';
  const off = -new Date(ms).getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return formatTime(ms, true, true) + ` ${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

// Milliseconds from "YYYY-MM-DD HH:mm[:ss[.SSS]]" (UTC unless local), or an
// RFC3339 time or Unix seconds; null when none of these.
export function parseTime(text, local = getSetting('localTime', false)) {
  const s = String(text).trim();
  const m = s.match(/^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/);
  if (m) {
    const f = m.slice(1).map((x) => (x === undefined ? 0 : parseInt(x, 10)));
    const ms = m[7] ? parseInt(m[7].padEnd(3, '0'), 10) : 0;
    const t = local
      ? new Date(f[0], f[1] - 1, f[2], f[3], f[4], f[5], ms).getTime()
      : Date.UTC(f[0], f[1] - 1, f[2], f[3], f[4], f[5], ms);
    return isNaN(t) ? null : t;
  }
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
  const t = Date.parse(s);
  return isNaN(t) ? null : t;
}

// ---- Values and series

// A sample value as the API gives it ("1.5", "NaN", "+Inf") kept as text in
// tables; numbers for axes get this short form.
export function formatNumber(v) {
  if (v === null || v === undefined) return '';
  if (!isFinite(v)) return isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e15 || a < 1e-4)) return v.toExponential(3).replace(/\.?0+e/, 'e');
  return String(+v.toPrecision(10));
}

// An axis tick: with an SI prefix (1.5k, 20M, 3m) when at most three
// decimals tell ticks `step` apart, else the plain number with as many
// decimals as the step needs (1795719100, not 1.795719G six times).
const siPrefixes = [
  [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k'],
  [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n'], [1e-12, 'p'],
];

export function formatSI(v, step) {
  if (v === 0) return '0';
  const decimals = (x) => Math.max(0, -Math.floor(Math.log10(Math.abs(x)) + 1e-9));
  const a = Math.max(Math.abs(v), Math.abs(step || 0));
  for (const [size, p] of siPrefixes) {
    if (a >= size) {
      const d = step ? decimals(step / size) : 2;
      if (d <= 3) return String(+(v / size).toFixed(d)) + p;
      break;
    }
  }
  const d = step ? decimals(step) : 2;
  if (d > 15 || Math.abs(v) >= 1e21) return v.toExponential(3);
  return String(+v.toFixed(d));
}

// A label value quoted as PromQL writes it.
export function quote(v) {
  return '"' + String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') + '"';
}

// metric{a="b", c="d"}; labels without a name are shown as {a="b"}.
export function seriesName(metric) {
  const name = metric.__name__ || '';
  const parts = Object.keys(metric)
    .filter((k) => k !== '__name__')
    .map((k) => `${k}=${quote(metric[k])}`);
  return parts.length || !name ? `${name}{${parts.join(', ')}}` : name;
}

// The same as DOM nodes with the name, label names and values styled apart.
export function seriesNameNode(metric) {
  const name = metric.__name__ || '';
  const keys = Object.keys(metric).filter((k) => k !== '__name__');
  if (!keys.length && name) return el('span', { class: 'series-name' }, el('span', { class: 'metric-name' }, name));
  const out = [el('span', { class: 'metric-name' }, name), '{'];
  keys.forEach((k, i) => {
    if (i) out.push(', ');
    out.push(el('span', { class: 'label-name' }, k), '=', el('span', { class: 'label-value' }, quote(metric[k])));
  });
  out.push('}');
  return el('span', { class: 'series-name' }, out);
}

// Label badges: name="value" chips.
export function labelBadges(labels) {
  return el('span', { class: 'badges' },
    Object.keys(labels).sort().map((k) => el('span', { class: 'badge label-badge' }, `${k}=${quote(labels[k])}`)));
}

// ---- Small components

export function card(title, ...children) {
  return el('section', { class: 'card' }, title ? el('h2', { class: 'card-title' }, title) : null, children);
}

export function alertBox(kind, title, text) {
  return el('div', { class: 'alert alert-' + kind, role: 'alert' },
    title ? el('strong', {}, title) : null, title && text ? ' ' : null, text || null);
}

export function loading(text = 'Loading...') {
  return el('div', { class: 'loading' }, el('span', { class: 'spinner' }), ' ', text);
}

// Debounced function: f runs once ms after the last call.
export function debounce(f, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
}

// The page's own URL query parameters, and a way to update them without
// reloading (replace: no new history entry).
export function urlParams() {
  return new URLSearchParams(location.search);
}

export function setURLParams(params, replace = true) {
  const qs = params.toString();
  const url = location.pathname + (qs ? '?' + qs : '');
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(history.state, '', url);
  else history.pushState(history.state, '', url);
}

// A small stroked icon (24x24 view box) for buttons and badges: 'search',
// 'copy', 'x', 'bell', 'bellOff', 'refresh', 'hourglass', 'repeat',
// 'timeline', 'clock', 'info'.
const iconPaths = {
  search: 'M10.5 4a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13zM15.5 15.5L20 20',
  copy: 'M9 9h10v11H9zM15 9V5H5v11h4',
  x: 'M6 6l12 12M18 6L6 18',
  bell: 'M6 17h12l-1.5-2.5V10a4.5 4.5 0 0 0-9 0v4.5zM10 20h4',
  bellOff: 'M6 17h12l-1.5-2.5V10a4.5 4.5 0 0 0-9 0v4.5zM10 20h4M4 4l16 16',
  refresh: 'M19 12a7 7 0 1 1-2-4.9M19 4v4h-4',
  hourglass: 'M7 4h10M7 20h10M8 4v2l4 6l-4 6v2M16 4v2l-4 6l4 6v2',
  repeat: 'M4 12V9a3 3 0 0 1 3-3h12M16 3l3 3l-3 3M20 12v3a3 3 0 0 1-3 3H5M8 21l-3-3l3-3',
  timeline: 'M4 17l5-6l4 4l7-8',
  clock: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM12 7v5l3 2',
  info: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM12 11v5M12 8h.01',
};

export function icon(name) {
  return el('svg:svg', { class: 'icon', viewBox: '0 0 24 24', width: 16, height: 16, 'aria-hidden': 'true' },
    el('svg:path', { d: iconPaths[name], fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }));
}
