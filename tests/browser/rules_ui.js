#!/usr/bin/env node
// prom-server's alerting pages in headless Chromium: /alerts, /rules and
// /alertmanager-discovery, as a person would use them.
//
// Starts prom-server on a free loopback port (data in a temporary
// directory) with a configuration that scrapes the server itself every
// second, evaluates rules every second, and points its alerting section at
// a port where nothing listens.  The rule file has three groups:
//   recording  job:up:sum (a recording rule)
//   alerting   AlwaysFiring (vector(1) > 0, for 0s, severity="page", a
//              templated summary) and NeverFiring (vector(0) > 1, for 5m,
//              keep_firing_for 1m)
//   broken     dup:renamed, a recording rule that fails on every evaluation
//              (two series with the same labels once it names them)
// and then checks:
//   - the navigation: Alerts in the main bar, Rule health under "Monitoring
//     status" and Alertmanager discovery under "Server status" in the
//     Status menu, whose title names the status page shown;
//   - /alerts: the group's state counts (firing 1, inactive 1), the firing
//     rule's header count, its body when expanded (expression, the link to
//     the query page, labels, annotations, the alerts table with the
//     alert's labels, state, active since and value, and the alert's
//     annotations, hidden with the "Show annotations" switch), the state
//     filter (pending hides the group, with a note; firing keeps only
//     AlwaysFiring) and the search, both in the URL; the query link opens
//     the query page with the expression and its result;
//   - /rules: every group with its last run, duration and interval, every
//     rule of recording and alerting healthy with its last evaluation and
//     duration, the broken rule as err with its error text, the health
//     filter;
//   - /alertmanager-discovery: the Alertmanager URL as active, none dropped;
//   - the page's PromQL highlighter on a few expressions;
//   - a picture of /alerts in the dark theme.
// Screenshots go to <build dir>/test-artifacts/ui/rules/*.png (paths
// printed).  The server is stopped by pid.
//
// Usage: node rules_ui.js <build dir>
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const build = process.argv[2];
if (!build) {
  console.error('usage: rules_ui.js <build dir>');
  process.exit(2);
}
const artifacts = path.join(path.resolve(build), 'test-artifacts', 'ui', 'rules');
fs.mkdirSync(artifacts, { recursive: true });
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

const ruleFile = `groups:
  - name: recording
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
  - name: alerting
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        for: 0s
        labels:
          severity: page
        annotations:
          summary: "Always firing, value {{ $value }}"
      - alert: NeverFiring
        expr: vector(0) > 1
        for: 5m
        keep_firing_for: 1m
  - name: broken
    rules:
      - record: dup:renamed
        expr: '{__name__=~"up|scrape_duration_seconds"}'
`;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-rules-ui-'));
  const port = await freePort();
  const amPort = await freePort(); // nothing listens here
  const base = `http://127.0.0.1:${port}`;
  const amURL = `http://127.0.0.1:${amPort}/api/v2/alerts`;
  let proc, browser, page;
  const pageErrors = [];
  try {
    fs.writeFileSync(path.join(dir, 'rules.yml'), ruleFile);
    const cfg = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(cfg, [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${path.join(dir, 'rules.yml')}`,
      'alerting:',
      '  alertmanagers:',
      '    - timeout: 1s',
      '      static_configs:',
      `        - targets: ['127.0.0.1:${amPort}']`,
      'scrape_configs:',
      '  - job_name: prom-server',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${port}']`,
      '',
    ].join('\n'));
    const log = fs.openSync(path.join(artifacts, 'server.log'), 'w');
    proc = spawn(path.join(build, 'bin', 'prom-server'), [
      `--config.file=${cfg}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await waitFor('the server to be ready', async () => (await fetch(base + '/-/ready', { signal: AbortSignal.timeout(5000) })).status === 200);
    // every rule evaluated, the alert firing, the recording rule's series there
    await waitFor('the rules to run', async () => {
      const d = await apiData(base, 'rules');
      const rules = d.groups.flatMap((g) => g.rules);
      const always = rules.find((r) => r.name === 'AlwaysFiring');
      const broken = rules.find((r) => r.name === 'dup:renamed');
      return rules.length === 4 && rules.every((r) => r.health !== 'unknown') && always.state === 'firing' &&
        broken.health === 'err';
    });
    await waitFor('job:up:sum', async () =>
      (await apiData(base, 'query?query=job:up:sum')).result.length === 1);

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    const watch = (p) => {
      p.on('pageerror', (e) => pageErrors.push(e.message));
      p.on('console', (m) => m.type() === 'error' && pageErrors.push('console: ' + m.text()));
    };
    watch(page);

    // ---- navigation
    await page.goto(base + '/query');
    const mainNav = await page.locator('.nav-links > a.nav-link').allInnerTexts();
    assert(JSON.stringify(mainNav) === '["Query","Alerts"]', 'main navigation: ' + mainNav);
    await page.locator('summary.nav-link').click();
    const menu = await page.locator('.nav-dropdown').innerText();
    const order = ['Monitoring status', 'Target health', 'Rule health', 'Service discovery', 'Server status',
      'Runtime & build information', 'TSDB status', 'Command-line flags', 'Configuration', 'Alertmanager discovery'];
    const at = order.map((t) => menu.indexOf(t));
    assert(at.every((x, i) => x >= 0 && (i === 0 || x > at[i - 1])), 'status menu: ' + menu.replace(/\n/g, ' | '));
    await page.locator('a.nav-item', { hasText: 'Rule health' }).click();
    await page.locator('section.rule-group').first().waitFor({ timeout: 15000 });
    assert(new URL(page.url()).pathname === '/rules', 'Rule health goes to /rules: ' + page.url());
    assert((await page.locator('summary.nav-link').innerText()).includes('Status › Rule health'), 'menu title on /rules');
    await page.locator('.nav-links > a.nav-link', { hasText: 'Alerts' }).click();
    await page.locator('section.rule-group').first().waitFor({ timeout: 15000 });
    assert(new URL(page.url()).pathname === '/alerts', 'Alerts goes to /alerts');
    assert(await page.locator('.nav-links > a.nav-link.active').innerText() === 'Alerts', 'Alerts marked active');

    // ---- /alerts
    const groups = page.locator('section.rule-group');
    assert(await groups.count() === 1, 'only the group with alerting rules on /alerts');
    const group = page.locator('section.rule-group[data-group="alerting"]');
    const counts = (await group.locator('.group-counts').innerText()).toLowerCase();
    assert(counts.includes('firing (1)') && counts.includes('inactive (1)') && !counts.includes('pending'),
      'group state counts: ' + counts);
    assert((await group.locator('.group-file').innerText()).endsWith('rules.yml'), 'group file shown');
    const chipFiring = (await page.locator('label.chip', { has: page.locator('input[data-filter="firing"]') }).innerText())
      .toLowerCase();
    assert(chipFiring.includes('firing (1)'), 'firing filter with its count: ' + chipFiring);
    const always = group.locator('details.rule[data-rule="AlwaysFiring"]');
    const never = group.locator('details.rule[data-rule="NeverFiring"]');
    assert((await always.locator('summary').innerText()).toLowerCase().includes('firing (1)'), 'AlwaysFiring header count');
    assert(await always.evaluate((d) => d.classList.contains('rule-err')), 'a firing rule has the red border');
    assert(await never.locator('.rule-counts .badge').count() === 0, 'NeverFiring has no count');
    assert(await never.evaluate((d) => d.classList.contains('rule-ok')), 'an inactive rule has the green border');
    assert(await always.evaluate((d) => !d.open), 'rules start closed');
    await shot(page, 'alerts');

    await always.locator('summary').click();
    const body = always.locator('.rule-body');
    await body.locator('.alerts-table').waitFor({ timeout: 5000 });
    assert(await body.locator('pre.rule-expr').innerText() === 'vector(1) > 0', 'the expression');
    assert(await body.locator('pre.rule-expr .pq-function').innerText() === 'vector', 'the expression is highlighted');
    const qhref = await body.locator('a.query-link').getAttribute('href');
    assert(qhref === 'query?g0.expr=vector(1)%20%3E%200&g0.tab=1', 'query link: ' + qhref);
    assert((await body.locator('.rule-labels').innerText()).includes('severity="page"'), 'rule labels');
    assert((await body.locator('table.rule-annotations').innerText()).includes('Always firing, value {{ $value }}'),
      'rule annotations (the template)');
    const arow = body.locator('tr.alert-row');
    assert(await arow.count() === 1, 'one alert');
    const atext = await arow.innerText();
    assert(atext.includes('alertname="AlwaysFiring"') && atext.includes('severity="page"'), 'alert labels: ' + atext);
    assert((await arow.locator('.health').innerText()).toLowerCase() === 'firing', 'alert state');
    assert(/^\d/.test(await arow.locator('.active-since').innerText()), 'active since: ' + await arow.locator('.active-since').innerText());
    assert(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(await arow.locator('.active-since').getAttribute('title')), 'active since time in the title');
    assert(await arow.locator('.alert-value').innerText() === '1', 'alert value');
    const ann = body.locator('tr.alert-annotations-row');
    assert((await ann.innerText()).includes('Always firing, value 1'), 'the alert\'s annotations (expanded template)');
    await shot(page, 'alerts-expanded');
    await page.locator('input[data-setting="showAnnotations"]').uncheck();
    assert(await ann.isHidden(), 'annotations switched off');
    await page.locator('input[data-setting="showAnnotations"]').check();
    assert(await ann.isVisible(), 'annotations switched on');
    await never.locator('summary').click();
    const nbody = never.locator('.rule-body');
    await nbody.locator('pre.rule-expr').waitFor({ timeout: 5000 });
    const timing = await nbody.locator('.rule-timing').innerText();
    assert(timing.includes('for: 5m') && timing.includes('keep_firing_for: 1m'), 'for and keep_firing_for: ' + timing);
    assert(await nbody.locator('.alerts-table').count() === 0, 'no alerts table without alerts');

    // the state filter and the search, in the URL; open rules stay open
    await page.locator('input[data-filter="pending"]').check();
    await page.locator('.hidden-groups').waitFor({ timeout: 5000 });
    assert(await groups.count() === 0, 'pending: no group shown');
    assert((await page.locator('.hidden-groups').innerText()).includes('Hiding 1 empty group'), 'note on hidden groups');
    assert(new URL(page.url()).searchParams.getAll('state').join() === 'pending', 'state in the URL: ' + page.url());
    await page.locator('.hidden-groups button', { hasText: 'Show empty groups' }).click();
    await group.locator('.alert', { hasText: 'No matching rules' }).waitFor({ timeout: 5000 });
    assert((await group.innerText()).includes('omitted 2 filtered rules'), 'empty group shown with its note');
    await group.locator('button', { hasText: 'Hide empty groups' }).click();
    await page.locator('.hidden-groups').waitFor({ timeout: 5000 });
    await page.locator('input[data-filter="pending"]').uncheck();
    await page.locator('input[data-filter="firing"]').check();
    await page.waitForFunction(() => document.querySelectorAll('details.rule').length === 1);
    assert(await page.locator('details.rule[data-rule="AlwaysFiring"]').count() === 1, 'firing: only AlwaysFiring');
    assert(await always.evaluate((d) => d.open), 'AlwaysFiring still open after filtering');
    await shot(page, 'alerts-firing-filter');
    await page.locator('input[data-filter="firing"]').uncheck();
    await page.locator('input.search').fill('never');
    await page.waitForFunction(() => document.querySelectorAll('details.rule').length === 1 &&
      document.querySelector('details.rule').dataset.rule === 'NeverFiring');
    assert(new URL(page.url()).searchParams.get('search') === 'never', 'search in the URL');
    await page.locator('input.search').fill('severity="page"');
    await page.waitForFunction(() => document.querySelectorAll('details.rule').length === 1 &&
      document.querySelector('details.rule').dataset.rule === 'AlwaysFiring');
    // the page from its URL alone
    await page.goto(base + '/alerts?state=inactive');
    await page.locator('details.rule').first().waitFor({ timeout: 15000 });
    assert(await page.locator('details.rule').count() === 1 &&
      await page.locator('details.rule[data-rule="NeverFiring"]').count() === 1, 'state=inactive from the URL');
    assert(await page.locator('input[data-filter="inactive"]').isChecked(), 'the filter from the URL is checked');

    // the expression's link: the query page in a new tab with the result
    await page.goto(base + '/alerts');
    await always.locator('summary').click();
    const [popup] = await Promise.all([ctx.waitForEvent('page'), always.locator('a.query-link').click()]);
    watch(popup);
    await popup.locator('.table-result tbody tr').first().waitFor({ timeout: 15000 });
    assert(new URL(popup.url()).pathname === '/query', 'query link opens /query: ' + popup.url());
    assert(await popup.locator('textarea.expr-input').first().inputValue() === 'vector(1) > 0', 'the expression in the query page');
    assert((await popup.locator('.table-result tbody tr').first().innerText()).includes('1'), 'the query result');
    await shot(popup, 'query-from-alert');
    await popup.close();

    // ---- /rules
    await page.goto(base + '/rules');
    await page.locator('section.rule-group').first().waitFor({ timeout: 15000 });
    assert(await page.locator('section.rule-group').count() === 3, 'three groups on /rules');
    for (const [g, n] of [['recording', 1], ['alerting', 2], ['broken', 1]]) {
      const card = page.locator(`section.rule-group[data-group="${g}"]`);
      const stats = await card.locator('.group-stats').innerText();
      assert(/last run [\d.]+(ms|s) ago/.test(stats) && /took [\d.]+(ms|s)/.test(stats) && stats.includes('every 1s'),
        `group ${g} stats: ${stats}`);
      assert(await card.locator('details.rule').count() === n, `group ${g} has ${n} rules`);
    }
    for (const name of ['job:up:sum', 'AlwaysFiring', 'NeverFiring']) {
      const rule = page.locator(`details.rule[data-rule="${name}"]`);
      const head = await rule.locator('summary').innerText();
      assert((await rule.locator('.health').innerText()).toLowerCase() === 'ok', `${name} healthy: ${head}`);
      assert(/[\d.]+(ms|s) ago/.test(await rule.locator('.stat-badge[title="Last rule evaluation"]').innerText()),
        `${name} last evaluation: ${head}`);
      assert(await rule.locator('.stat-badge[title="Duration of last rule evaluation"]').count() === 1, `${name} duration`);
    }
    assert(await page.locator('details.rule[data-rule="job:up:sum"] .rule-type').getAttribute('title') === 'Recording rule', 'recording icon');
    assert(await page.locator('details.rule[data-rule="AlwaysFiring"] .rule-type').getAttribute('title') === 'Alerting rule', 'alerting icon');
    const broken = page.locator('details.rule[data-rule="dup:renamed"]');
    assert((await broken.locator('.health').innerText()).toLowerCase() === 'err', 'the broken rule is err');
    assert(await broken.evaluate((d) => d.classList.contains('rule-err')), 'the broken rule has the red border');
    await broken.locator('summary').click();
    const err = broken.locator('.rule-error');
    await err.waitFor({ timeout: 5000 });
    const errText = await err.innerText();
    assert(errText.includes('Rule failed to evaluate') && errText.includes('same labelset'), 'the error: ' + errText);
    const rec = page.locator('details.rule[data-rule="job:up:sum"]');
    await rec.locator('summary').click();
    await rec.locator('pre.rule-expr').waitFor({ timeout: 5000 });
    assert(await rec.locator('pre.rule-expr').innerText() === 'sum by (job) (up)', 'recording expression');
    assert(await rec.locator('a.query-link').getAttribute('href') ===
      'query?g0.expr=' + encodeURIComponent('sum by (job) (up)') + '&g0.tab=1', 'recording rule query link');
    await shot(page, 'rules');
    await page.locator('input[data-filter="err"]').check();
    await page.waitForFunction(() => document.querySelectorAll('details.rule').length === 1);
    assert(await page.locator('details.rule[data-rule="dup:renamed"]').count() === 1, 'health=err: only the broken rule');
    assert(new URL(page.url()).searchParams.get('health') === 'err', 'health filter in the URL');
    assert((await page.locator('.hidden-groups').innerText()).includes('Hiding 2 empty groups'), 'two groups hidden');
    await shot(page, 'rules-err-filter');

    // the same in the dark theme (a picture only)
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(base + '/alerts');
    await always.locator('summary').click();
    await always.locator('.alerts-table').waitFor({ timeout: 5000 });
    await shot(page, 'alerts-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // ---- /alertmanager-discovery
    await page.goto(base + '/alertmanager-discovery');
    await page.locator('.am-active').waitFor({ timeout: 15000 });
    const active = page.locator('.am-active table a');
    assert(await active.count() === 1 && await active.innerText() === amURL, 'active Alertmanager: ' + await page.locator('.am-active').innerText());
    assert(await active.getAttribute('href') === amURL, 'Alertmanager link');
    assert((await page.locator('.am-dropped').innerText()).includes('No dropped alertmanagers found.'), 'no dropped Alertmanagers');
    assert((await page.locator('summary.nav-link').innerText()).includes('Status › Alertmanager discovery'), 'menu title');
    await shot(page, 'alertmanager-discovery');

    // ---- the highlighter
    const hl = await page.evaluate(async () => {
      const r = await import('./assets/rules.js');
      const kinds = (t) => r.highlightPromQL(t).filter((n) => n.nodeType === 1).map((n) => `${n.className.slice(3)}:${n.textContent}`);
      return {
        a: kinds('sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) > 0.5 # x'),
        b: kinds('up offset 1h30m and on(instance) Inf'),
        text: r.highlightPromQL('a{b="c"}\n  / 2').map((n) => (typeof n === 'string' ? n : n.textContent)).join(''),
      };
    });
    assert(JSON.stringify(hl.a) === JSON.stringify(['function:sum', 'keyword:by', 'label:job', 'function:rate',
      'metric:http_requests_total', 'label:code', 'string:"5.."', 'number:5m', 'number:0.5', 'comment:# x']), 'highlight a: ' + hl.a);
    assert(JSON.stringify(hl.b) === JSON.stringify(['metric:up', 'keyword:offset', 'number:1h30m', 'keyword:and',
      'keyword:on', 'label:instance', 'number:Inf']), 'highlight b: ' + hl.b);
    assert(hl.text === 'a{b="c"}\n  / 2', 'highlighting keeps the text');

    assert(pageErrors.length === 0, 'errors in the page: ' + pageErrors.join('; '));
    for (const f of shots) console.log('screenshot: ' + f);
    console.log(`OK: ${checks} checks passed (navigation, alerts with counts, expansion, filters and search, ` +
      'query link, rules with health and errors, Alertmanager discovery, highlighting)');
  } catch (e) {
    if (page) await shot(page, 'failure').catch(() => {});
    if (pageErrors.length) console.error('errors in the page: ' + pageErrors.join('; '));
    throw e;
  } finally {
    if (browser) await browser.close();
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      process.kill(proc.pid, 'SIGTERM');
      const t = setTimeout(() => process.kill(proc.pid, 'SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  for (const f of shots) console.log('screenshot: ' + f);
  console.error('FAIL', e.message);
  process.exit(1);
});
