#!/usr/bin/env node
// prom-server's web UI in headless Chromium, as a person would use it.
//
// Starts prom-server on a free loopback port with a data directory in a
// temporary directory and a configuration that scrapes the server itself
// every second (plus a job whose only target relabeling drops), waits for a
// few scrapes, and then:
//   - opens the UI's root and lands on /query;
//   - types rate(prometheus_http_req..., takes the completion offered with
//     Tab, finishes the expression and runs it with Enter; the Table tab
//     shows rows;
//   - switches to the Graph tab, narrows the range to 5m, and checks that
//     a series is drawn (an SVG path through several points) with a legend
//     entry, that hovering shows the time and values, and that the stacked
//     mode fills an area; the URL carries upstream's g0.* parameters;
//   - adds a second panel and checks label value completion (up{job="...);
//   - opens /targets and finds the server's own target UP, /service-discovery
//     with the dropped target, /config with the YAML, /flags with
//     --config.file, /status and /tsdb-status;
//   - starts a second server with --web.external-url=.../prom/ and runs a
//     query through the UI under that prefix.
// Screenshots go to <build dir>/test-artifacts/ui/*.png (paths printed).
// Both servers are stopped by pid.
//
// Usage: node server_ui.js <build dir>
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const build = process.argv[2];
if (!build) {
  console.error('usage: server_ui.js <build dir>');
  process.exit(2);
}
const artifacts = path.join(path.resolve(build), 'test-artifacts', 'ui');
fs.mkdirSync(artifacts, { recursive: true });
// only this run's pictures
for (const f of fs.readdirSync(artifacts)) if (f.endsWith('.png')) fs.rmSync(path.join(artifacts, f));
const shots = [];
let checks = 0;

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
  checks++;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every fetch here has a timeout of its own: under CI's load Node's fetch was
// seen never to settle after a connection to the just-started server closed,
// which left waitFor waiting until ctest's timeout, with no output.
async function waitFor(what, fn, timeoutMs = 30000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      // not yet
    }
    if (Date.now() > until) throw new Error('timed out waiting for ' + what);
    await sleep(200);
  }
}

function startServer(dir, name, port, extraArgs, downPort) {
  const cfg = path.join(dir, name + '.yml');
  fs.writeFileSync(cfg, [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    '  - job_name: prom-server',
    extraArgs.metricsPath ? `    metrics_path: ${extraArgs.metricsPath}` : '',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${port}']`,
    '  - job_name: dropped-job',
    '    static_configs:',
    "      - targets: ['127.0.0.1:1']",
    '    relabel_configs:',
    '      - action: drop',
    '        source_labels: [__address__]',
    "        regex: '.*:1'",
    downPort ? '  - job_name: down-job' : '',
    downPort ? '    static_configs:' : '',
    downPort ? `      - targets: ['127.0.0.1:${downPort}']` : '',
    '',
  ].filter((l) => l !== '').join('\n') + '\n');
  const log = fs.openSync(path.join(artifacts, name + '.log'), 'w');
  const proc = spawn(path.join(build, 'bin', 'prom-server'), [
    `--config.file=${cfg}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--storage.tsdb.path=${path.join(dir, name + '-data')}`,
    ...(extraArgs.flags || []),
  ], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  return { proc, cfg };
}

async function stopServer(s) {
  if (!s || s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  process.kill(s.proc.pid, 'SIGTERM');
  const t = setTimeout(() => process.kill(s.proc.pid, 'SIGKILL'), 10000);
  await exited;
  clearTimeout(t);
}

async function apiData(base, pathAndQuery) {
  const r = await fetch(base + '/api/v1/' + pathAndQuery, { signal: AbortSignal.timeout(5000) });
  const body = await r.json();
  if (body.status !== 'success') throw new Error(body.error);
  return body.data;
}

async function shot(page, name) {
  const file = path.join(artifacts, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-ui-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let srv, srv2, browser, page;
  const pageErrors = [];
  try {
    // a target nothing listens on: down, with an error
    const downPort = await freePort();
    srv = startServer(dir, 'server', port, {}, downPort);
    await waitFor('the server to be ready', async () => (await fetch(base + '/-/ready', { signal: AbortSignal.timeout(5000) })).status === 200);
    // enough scrapes for rate() over several steps of a 5m graph (1s steps)
    await waitFor('eight scrapes', async () => {
      const d = await apiData(base, 'query?query=' + encodeURIComponent('count_over_time(up{job="prom-server"}[1m])'));
      return d.result.length && +d.result[0].value[1] >= 8;
    });

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push('console: ' + m.text()));

    // ---- the query page: autocompletion, Enter, the table
    await page.goto(base + '/');
    assert(new URL(page.url()).pathname === '/query', `/ went to ${page.url()}, not /query`);
    const input = page.locator('textarea.expr-input').first();
    await input.click();
    await page.keyboard.type('rate(prometheus_http_req');
    const offered = page.locator('.ac-list .ac-item', { hasText: 'prometheus_http_requests_total' }).first();
    await offered.waitFor({ timeout: 10000 });
    await shot(page, 'query-autocomplete');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    // the first offer starts with what was typed: take it with Tab
    const first = (await page.locator('.ac-list .ac-item .ac-text').first().textContent());
    assert(first.startsWith('prometheus_http_req'), `first completion ${first}`);
    if (first !== 'prometheus_http_requests_total') await offered.click();
    else await page.keyboard.press('Tab');
    assert(await input.inputValue() === 'rate(prometheus_http_requests_total',
      `after completion the input is ${await input.inputValue()}`);
    await page.keyboard.type('[1m])');
    await page.keyboard.press('Enter');
    const rows = page.locator('.table-result table.data-table tbody tr');
    await rows.first().waitFor({ timeout: 15000 });
    const metricsRow = rows.filter({ hasText: 'handler="/metrics"' });
    assert(await metricsRow.count() === 1, 'a table row for the scrapes of /metrics');
    const rowText = await metricsRow.innerText();
    assert(rowText.includes('job="prom-server"') && rowText.includes('code="200"'), `table row: ${rowText}`);
    assert(parseFloat(await metricsRow.locator('.value-cell').innerText()) > 0, 'rate in the table is > 0');
    assert(page.url().includes('g0.expr=rate%28prometheus_http_requests_total%5B1m%5D%29'),
      `URL after running: ${page.url()}`);
    await shot(page, 'query-table');

    // ---- the graph
    await page.locator('.tab[data-tab="graph"]').first().click();
    await page.locator('.graph svg.chart-svg').first().waitFor({ timeout: 15000 });
    const range = page.locator('input.range-input').first();
    await range.fill('5m');
    await range.press('Enter');
    await page.waitForFunction(() => {
      const p = document.querySelector('.graph svg path.line');
      return p && +p.dataset.points >= 3;
    }, null, { timeout: 15000 });
    const line = page.locator('.graph svg path.line').first();
    const d = await line.getAttribute('d');
    assert((d.match(/L/g) || []).length >= 2, `series path ${d}`);
    const box = await line.boundingBox();
    assert(box && box.width > 5, 'the drawn series has a width');
    const stroke = await line.getAttribute('stroke');
    assert(stroke && stroke !== 'none', 'the series has a colour');
    const legend = page.locator('.legend .legend-item');
    assert(await legend.count() >= 1, 'a legend entry');
    assert(await legend.filter({ hasText: 'handler="/metrics"' }).count() === 1, 'legend names the series');
    const url = new URL(page.url());
    assert(url.searchParams.get('g0.tab') === 'graph' && url.searchParams.get('g0.range_input') === '5m',
      `URL state: ${url.search}`);
    // hover near the right end of the plot, where the samples are
    const overlay = page.locator('.graph svg rect.overlay').first();
    const ob = await overlay.boundingBox();
    await page.mouse.move(ob.x + ob.width - 12, ob.y + ob.height / 2);
    const tip = page.locator('.chart-tooltip');
    await tip.waitFor({ state: 'visible', timeout: 5000 });
    const tipText = await tip.innerText();
    assert(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(tipText), `tooltip time: ${tipText}`);
    assert(tipText.includes('handler="/metrics"'), `tooltip series: ${tipText}`);
    await shot(page, 'query-graph');
    await page.mouse.move(0, 0);
    await page.locator('.segmented .seg:text-is("Stacked")').first().click();
    await page.waitForFunction(() => [...document.querySelectorAll('.graph svg path.area')]
      .some((a) => a.getBBox().height > 1), null, { timeout: 15000 });
    assert(new URL(page.url()).searchParams.get('g0.display_mode') === 'stacked', 'stacked in the URL');
    await shot(page, 'query-graph-stacked');

    // ---- a second panel: label value completion, and it runs on its own
    await page.locator('button.add-panel').click();
    assert(await page.locator('section.panel').count() === 2, 'two panels');
    const input2 = page.locator('textarea.expr-input').nth(1);
    await input2.click();
    await page.keyboard.type('up{job="prom');
    await page.locator('.ac-list .ac-item', { hasText: 'prom-server' }).first().waitFor({ timeout: 10000 });
    await page.keyboard.press('Tab');
    assert(await input2.inputValue() === 'up{job="prom-server"', `label value completion: ${await input2.inputValue()}`);
    await page.keyboard.type('}');
    await page.locator('section.panel').nth(1).locator('button.execute-btn').click();
    const rows2 = page.locator('section.panel').nth(1).locator('.table-result tbody tr');
    await rows2.first().waitFor({ timeout: 15000 });
    assert((await rows2.first().innerText()).includes('up{'), 'second panel shows up');
    assert(new URL(page.url()).searchParams.get('g1.expr') === 'up{job="prom-server"}', 'second panel in the URL');
    await shot(page, 'query-two-panels');
    // removing a panel
    await page.locator('section.panel').nth(1).locator('button.remove-btn').click();
    assert(await page.locator('section.panel').count() === 1, 'one panel after removing');
    assert(!new URL(page.url()).searchParams.has('g1.expr'), 'the removed panel left the URL');
    await page.goBack();
    await page.locator('section.panel').nth(1).waitFor({ timeout: 15000 });
    // the page's own modules: completion contexts and upstream's URL format
    const logic = await page.evaluate(async () => {
      const c = await import('./assets/complete.js');
      const q = await import('./assets/query.js');
      const ctx = (t) => {
        const r = c.analyze(t);
        return r && [r.kind, r.prefix, r.label || r.metric || ''].join('|');
      };
      const panels = q.decodePanels('?g0.expr=up&g0.tab=0&g0.stacked=1&g0.range_input=2h&g0.step_input=30' +
        '&g0.end_input=2024-05-01%2010:00:00&g1.expr=x&g1.tab=table&g1.res_type=fixed&g1.res_step=60');
      return {
        ctx: [ctx('rate(http_req'), ctx('up{job=~"pro'), ctx('up{inst'), ctx('sum by (jo'),
          ctx('up{a="b", c'), ctx('foo[5'), ctx('1e'), ctx('x # comment'), ctx('max_over_time(up{job="a"}[5m]) + su')],
        panels,
        encoded: q.encodePanels(panels).toString(),
        steps: [q.effectiveStep({ type: 'auto', density: 'medium' }, 3600000),
          q.effectiveStep({ type: 'auto', density: 'high' }, 60000)],
      };
    });
    const wantCtx = ['expr|http_req|', 'labelValue|pro|job', 'labelName|inst|up', 'labelName|jo|',
      'labelName|c|up', null, null, null, 'expr|su|'];
    assert(JSON.stringify(logic.ctx) === JSON.stringify(wantCtx), 'completion contexts: ' + JSON.stringify(logic.ctx));
    const [p0, p1] = logic.panels;
    assert(p0.tab === 'graph' && p0.displayMode === 'stacked' && p0.range === 7200000 &&
      p0.res.type === 'custom' && p0.res.step === 30000 && p0.endTime === Date.UTC(2024, 4, 1, 10),
      'decoded panel 0: ' + JSON.stringify(p0));
    assert(p1.tab === 'table' && p1.res.type === 'fixed' && p1.res.step === 60000, 'decoded panel 1: ' + JSON.stringify(p1));
    assert(logic.encoded.startsWith('g0.expr=up&g0.show_tree=0&g0.tab=graph&g0.end_input=2024-05-01+10%3A00%3A00' +
      '&g0.moment_input=2024-05-01+10%3A00%3A00&g0.range_input=2h&g0.res_type=custom&g0.res_step=30&g0.display_mode=stacked'),
    'encoded: ' + logic.encoded);
    assert(logic.steps[0] === 14000 && logic.steps[1] === 1000, 'auto steps: ' + logic.steps);
    // the page from its URL alone gives the same panels
    await page.reload();
    await page.locator('section.panel').nth(1).locator('.table-result tbody tr').first().waitFor({ timeout: 15000 });
    assert(await page.locator('textarea.expr-input').first().inputValue() === 'rate(prometheus_http_requests_total[1m])',
      'panel 1 restored from the URL');
    // the old UI's /graph links carry over
    await page.goto(base + '/graph?g0.expr=up&g0.tab=1');
    await page.locator('.table-result tbody tr').first().waitFor({ timeout: 15000 });
    assert(new URL(page.url()).pathname === '/query', '/graph becomes /query');

    // ---- targets
    await waitFor('the down target scraped', async () => {
      const d = await apiData(base, 'targets?state=active');
      return d.activeTargets.some((t) => t.health === 'down');
    });
    await page.goto(base + '/targets');
    const target = page.locator('tr.target', { hasText: `127.0.0.1:${port}/metrics` });
    await target.first().waitFor({ timeout: 15000 });
    const health = (await target.first().locator('.health').innerText()).trim();
    assert(health === 'UP', `target health shown as ${health}`);
    const head = await page.locator('details.pool', { hasText: 'prom-server' }).locator('summary').innerText();
    assert(head.includes('1 / 1 up'), `pool header: ${head}`);
    assert((await target.first().innerText()).includes('ago'), 'last scrape shown');
    await shot(page, 'targets');
    // the down target: its pool, its error, and the health filter
    const down = page.locator('tr.target', { hasText: `127.0.0.1:${downPort}/metrics` });
    await down.first().waitFor({ timeout: 15000 });
    assert((await down.first().locator('.health').innerText()).trim() === 'DOWN', 'the down target');
    const err = page.locator('details.pool', { hasText: 'down-job' }).locator('tr.target-error');
    assert((await err.innerText()).includes('Error scraping target'), 'the down target\'s error');
    await page.locator('input[data-filter="down"]').check();
    await page.waitForFunction(() => document.querySelectorAll('tr.target').length === 1);
    assert(await page.locator('tr.target[data-health="down"]').count() === 1, 'filter: only the down target');
    assert(new URL(page.url()).searchParams.get('health') === 'down', 'the filter in the URL');
    await shot(page, 'targets-down-filter');
    await page.locator('input[data-filter="down"]').uncheck();
    await page.waitForFunction(() => document.querySelectorAll('tr.target').length === 2);
    await page.locator('input.search').fill('prom-server');
    await page.waitForFunction(() => document.querySelectorAll('tr.target').length === 1);
    assert(await page.locator('tr.target[data-health="up"]').count() === 1, 'search: only the server');

    // ---- service discovery
    await page.goto(base + '/service-discovery');
    await page.locator('tr.sd-target.dropped').first().waitFor({ timeout: 15000 });
    const sdText = await page.locator('#page').innerText();
    assert(sdText.includes('__address__="127.0.0.1:1"') && sdText.toUpperCase().includes('DROPPED'), 'dropped target shown');
    assert(sdText.includes(`instance="127.0.0.1:${port}"`), 'target labels shown');
    await shot(page, 'service-discovery');

    // ---- configuration
    await page.goto(base + '/config');
    const yaml = page.locator('pre.config-yaml');
    await yaml.waitFor({ timeout: 15000 });
    const yamlText = await yaml.innerText();
    assert(yamlText.includes('scrape_configs:') && yamlText.includes('job_name: prom-server') &&
      yamlText.includes('scrape_interval: 1s'), `config page: ${yamlText.slice(0, 200)}`);
    await shot(page, 'config');

    // ---- flags
    await page.goto(base + '/flags');
    const flagRow = page.locator('table.flags-table tr', { hasText: '--config.file' });
    await flagRow.first().waitFor({ timeout: 15000 });
    assert((await flagRow.first().innerText()).includes(srv.cfg), 'the config file flag and its value');
    await shot(page, 'flags');

    // ---- status and TSDB status
    await page.goto(base + '/status');
    await page.locator('h2', { hasText: 'Runtime information' }).waitFor({ timeout: 15000 });
    const st = await page.locator('#page').innerText();
    assert(st.includes('Build information') && st.includes('Storage retention') && st.includes('Version'), 'status page');
    await shot(page, 'status');
    await page.goto(base + '/tsdb-status');
    await page.locator('h2', { hasText: 'TSDB Head Status' }).waitFor({ timeout: 15000 });
    const ts = await page.locator('#page').innerText();
    assert(ts.includes('Number of Series') && ts.includes('prometheus_http_requests_total') &&
      ts.includes('Top 10 series count by label value pairs'), 'TSDB status page');
    await shot(page, 'tsdb-status');

    // ---- under a prefix: --web.external-url with a path
    const port2 = await freePort();
    const base2 = `http://127.0.0.1:${port2}`;
    srv2 = startServer(dir, 'prefixed', port2, {
      flags: [`--web.external-url=http://127.0.0.1:${port2}/prom/`],
      metricsPath: '/prom/metrics',
    });
    await waitFor('the prefixed server', async () => (await fetch(base2 + '/prom/-/ready', { signal: AbortSignal.timeout(5000) })).status === 200);
    await waitFor('a scrape under the prefix', async () =>
      (await apiData(base2 + '/prom', 'query?query=prometheus_build_info')).result.length > 0);
    await page.goto(base2 + '/prom/');
    assert(new URL(page.url()).pathname === '/prom/query', `prefixed root went to ${page.url()}`);
    const pin = page.locator('textarea.expr-input').first();
    await pin.fill('prometheus_build_info');
    await pin.press('Enter');
    await page.locator('.table-result tbody tr').first().waitFor({ timeout: 15000 });
    assert((await page.locator('.table-result tbody tr').first().innerText()).includes('prometheus_build_info'),
      'a query under the prefix');
    await page.locator('summary.nav-link').click();
    await page.locator('a.nav-item', { hasText: 'Target health' }).click();
    await page.locator('tr.target').first().waitFor({ timeout: 15000 });
    assert(new URL(page.url()).pathname === '/prom/targets', `nav link under the prefix: ${page.url()}`);
    await shot(page, 'prefixed-targets');

    assert(pageErrors.length === 0, 'errors in the page: ' + pageErrors.join('; '));
    for (const f of shots) console.log('screenshot: ' + f);
    console.log(`OK: ${checks} checks passed (query table and graph, completion, panels, targets, ` +
      'service discovery, config, flags, status, TSDB status, route prefix)');
  } catch (e) {
    if (page) await shot(page, 'failure').catch(() => {});
    if (pageErrors.length) console.error('errors in the page: ' + pageErrors.join('; '));
    throw e;
  } finally {
    if (browser) await browser.close();
    await stopServer(srv2);
    await stopServer(srv);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  for (const f of shots) console.log('screenshot: ' + f);
  console.error('FAIL', e.message);
  process.exit(1);
});
