#!/usr/bin/env node
// prom-pushgateway's status page in headless Chromium: start the gateway on a
// free port, push two groups, open the page, check both are listed with their
// grouping labels, click "Delete Group" on one, and check that the gateway's
// /metrics no longer has it (and still has the other).
//
// Usage: node pushgateway_page.js <build dir>
'use strict';

const { spawn } = require('child_process');
const net = require('net');
const path = require('path');
const { chromium } = require('playwright-core');

const build = process.argv[2];
if (!build) {
  console.error('usage: pushgateway_page.js <build dir>');
  process.exit(2);
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

async function waitReady(base) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(base + '/-/ready', { signal: AbortSignal.timeout(5000) });
      if (r.status === 200) return;
    } catch (e) {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('gateway not ready');
}

async function push(base, groupPath, body) {
  const r = await fetch(base + groupPath, { method: 'PUT', body });
  if (r.status !== 200) throw new Error(`push ${groupPath}: ${r.status} ${await r.text()}`);
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gw = spawn(path.join(build, 'bin', 'prom-pushgateway'),
    [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'inherit' });
  let browser;
  try {
    await waitReady(base);
    await push(base, '/metrics/job/backup/host/db1', 'backup_last_success 1700000000\n');
    await push(base, '/metrics/job@base64/Y3Jvbi9uaWdodGx5/path@base64/L3Zhci90bXA',
      '# HELP files_removed Files removed.\n# TYPE files_removed counter\nfiles_removed 12\n');

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage();
    await page.goto(base + '/');
    const groups = page.locator('.group');
    assert(await groups.count() === 2, `expected 2 groups, got ${await groups.count()}`);
    const texts = await groups.allTextContents();
    const backup = texts.findIndex((t) => t.includes('job="backup"'));
    const cron = texts.findIndex((t) => t.includes('job="cron/nightly"'));
    assert(backup >= 0 && texts[backup].includes('host="db1"'), 'backup group and its labels');
    assert(cron >= 0 && texts[cron].includes('path="/var/tmp"'), 'cron group and its labels');
    assert(texts[cron].includes('files_removed') && texts[cron].includes('COUNTER'),
      'the family of the cron group');

    await groups.nth(cron).locator('button.delete').click();
    await page.waitForFunction(() => document.querySelectorAll('.group').length === 1);

    const metrics = await (await fetch(base + '/metrics')).text();
    assert(!metrics.includes('files_removed'), '/metrics still has the deleted group');
    assert(!metrics.includes('cron/nightly'), '/metrics still has the deleted grouping');
    assert(metrics.includes('backup_last_success{host="db1",instance="",job="backup"}'),
      '/metrics lost the other group');

    await page.reload();
    assert(await page.locator('.group').count() === 1, 'the page after reload');
    console.log('OK: page lists both groups with their labels; delete removed one');
  } finally {
    if (browser) await browser.close();
    gw.kill('SIGTERM');
  }
}

main().catch((e) => {
  console.error('FAIL', e.message);
  process.exit(1);
});
