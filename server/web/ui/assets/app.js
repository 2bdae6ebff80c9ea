// app.js - the application shell: the header with its navigation, the
// settings (theme, local time) and the router that picks a page from the
// path, as upstream's Mantine UI (Prometheus 3.x) does.
//
// The server answers every page path (<prefix>/query, <prefix>/targets, ...)
// with the same index.html; this file reads the last path segment and loads
// that page's module.  Links between pages are relative ("targets"), and are
// followed with history.pushState, so moving between pages does not reload
// the application.  The old /graph page's links (?g0.expr=...) are turned
// into /query links with the same parameters, as upstream's redirect does.
//
// A page module exports render(root) and may return a function that stops
// whatever it left running (timers, requests) when the page is left.
import { el, clear, getSetting, setSetting, alertBox } from './lib.js';

// The main navigation has the pages without `status`; the Status menu has
// the others in upstream's two sections and order.
const pages = [
  { path: 'query', title: 'Query', module: './query.js' },
  { path: 'alerts', title: 'Alerts', module: './rules.js' },
  { path: 'targets', title: 'Target health', module: './targets.js', status: 'monitoring' },
  { path: 'rules', title: 'Rule health', module: './rules.js', status: 'monitoring' },
  { path: 'service-discovery', title: 'Service discovery', module: './targets.js', status: 'monitoring' },
  { path: 'status', title: 'Runtime & build information', module: './status.js', status: 'server' },
  { path: 'tsdb-status', title: 'TSDB status', module: './status.js', status: 'server' },
  { path: 'flags', title: 'Command-line flags', module: './status.js', status: 'server' },
  { path: 'config', title: 'Configuration', module: './status.js', status: 'server' },
  { path: 'alertmanager-discovery', title: 'Alertmanager discovery', module: './rules.js', status: 'server' },
];
const statusSections = [['monitoring', 'Monitoring status'], ['server', 'Server status']];

let cleanup = null;
let generation = 0; // which call of route() is the latest

function currentPage() {
  const segs = location.pathname.split('/');
  const last = segs[segs.length - 1] || segs[segs.length - 2] || '';
  return pages.find((p) => p.path === last) || null;
}

function navLink(p, cls) {
  return el('a', { href: p.path, class: cls, 'data-page': p.path, onclick: follow }, p.title);
}

// Follows a relative link inside the application without reloading.
function follow(ev) {
  if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  const href = ev.currentTarget.getAttribute('href');
  history.pushState(null, '', href);
  document.querySelectorAll('details.nav-menu').forEach((d) => d.removeAttribute('open'));
  route();
}

function applyTheme() {
  const t = getSetting('theme', 'auto');
  const dark = t === 'dark' || (t === 'auto' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

function renderHeader() {
  const header = clear(document.getElementById('header'));
  const themeNames = { auto: 'Theme: auto', light: 'Theme: light', dark: 'Theme: dark' };
  const themeBtn = el('button', {
    class: 'btn btn-subtle', type: 'button', title: 'Color theme',
    onclick: () => {
      const order = ['auto', 'light', 'dark'];
      const next = order[(order.indexOf(getSetting('theme', 'auto')) + 1) % order.length];
      setSetting('theme', next);
      localStorage.setItem('prom.ui.theme', next);
      themeBtn.textContent = themeNames[next];
      applyTheme();
      route();
    },
  }, themeNames[getSetting('theme', 'auto')]);
  const localBox = el('input', {
    type: 'checkbox', checked: getSetting('localTime', false),
    onchange: (e) => {
      setSetting('localTime', e.target.checked);
      route();
    },
  });
  header.appendChild(el('nav', { class: 'topbar' },
    el('a', { class: 'brand', href: 'query', onclick: follow },
      el('img', { src: 'favicon.svg', alt: '', width: 28, height: 28 }), el('span', {}, 'Prometheus')),
    el('div', { class: 'nav-links' },
      pages.filter((p) => !p.status).map((p) => navLink(p, 'nav-link')),
      el('details', { class: 'nav-menu' },
        el('summary', { class: 'nav-link' }, el('span', { class: 'nav-menu-title' }, 'Status')),
        el('div', { class: 'nav-dropdown' }, statusSections.map(([section, label], i) => [
          i ? el('div', { class: 'nav-divider' }) : null,
          el('div', { class: 'nav-section' }, label),
          pages.filter((p) => p.status === section).map((p) => navLink(p, 'nav-item')),
        ])))),
    el('div', { class: 'nav-settings' },
      el('label', { class: 'check', title: 'Show times in the browser\'s time zone' }, localBox, ' Local time'),
      themeBtn)));
  document.addEventListener('click', (ev) => {
    const menu = header.querySelector('details.nav-menu');
    if (menu && !menu.contains(ev.target)) menu.removeAttribute('open');
  });
}

function markActive(page) {
  document.querySelectorAll('#header [data-page]').forEach((a) => {
    a.classList.toggle('active', !!page && a.dataset.page === page.path);
  });
  const menu = document.querySelector('#header details.nav-menu summary');
  if (menu) {
    // "Status › Rule health" on a status page, as upstream's menu button
    menu.classList.toggle('active', !!page && !!page.status);
    menu.querySelector('.nav-menu-title').textContent = page && page.status ? 'Status › ' + page.title : 'Status';
  }
}

async function route() {
  if (cleanup) {
    try {
      cleanup();
    } catch (e) {
      console.error(e);
    }
    cleanup = null;
  }
  const segs = location.pathname.split('/');
  if (segs[segs.length - 1] === 'graph') {
    // upstream redirects /graph to /query on the server, keeping the query
    history.replaceState(null, '', 'query' + location.search);
  }
  const gen = ++generation;
  const page = currentPage();
  markActive(page);
  const root = clear(document.getElementById('page'));
  if (!page) {
    root.appendChild(alertBox('error', 'Page not found.', 'This path is not a page of the UI.'));
    return;
  }
  document.title = page.title + ' - Prometheus';
  root.dataset.page = page.path;
  try {
    const mod = await import(page.module);
    if (gen !== generation) return; // left while loading
    const stop = (await mod.render(root, page.path)) || null;
    if (gen !== generation) {
      if (stop) stop();
      return;
    }
    cleanup = stop;
  } catch (e) {
    console.error(e);
    root.appendChild(alertBox('error', 'Error:', e.message));
  }
}

applyTheme();
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
renderHeader();
window.addEventListener('popstate', route);
route();
