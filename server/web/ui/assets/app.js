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

const pages = [
  { path: 'query', title: 'Query', module: './query.js' },
  { path: 'targets', title: 'Target health', module: './targets.js', status: true },
  { path: 'service-discovery', title: 'Service discovery', module: './targets.js', status: true },
  { path: 'status', title: 'Runtime & build information', module: './status.js', status: true },
  { path: 'tsdb-status', title: 'TSDB status', module: './status.js', status: true },
  { path: 'flags', title: 'Command-line flags', module: './status.js', status: true },
  { path: 'config', title: 'Configuration', module: './status.js', status: true },
];

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
  const statusPages = pages.filter((p) => p.status);
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
      navLink(pages[0], 'nav-link'),
      el('details', { class: 'nav-menu' },
        el('summary', { class: 'nav-link' }, 'Status'),
        el('div', { class: 'nav-dropdown' }, statusPages.map((p) => navLink(p, 'nav-item'))))),
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
  if (menu) menu.classList.toggle('active', !!page && !!page.status);
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
