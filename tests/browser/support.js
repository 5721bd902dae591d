// Shared by the browser scripts: the spec's settings from stdin, Debian's headless Chromium through puppeteer-core,
// small HTTP servers for other origins, and the single JSON line of findings on stdout. Secrets given in the
// settings (the admin token, the operator password) are never printed.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

/** The spec's settings: one JSON object on stdin. */
function readSettings() {
  return JSON.parse(fs.readFileSync(0, 'utf8'));
}

/** Debian's Chromium, headless, with a throwaway profile; downloads are refused so an attachment is never saved. */
async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-browser-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    userDataDir: profile,
    // --no-sandbox: the specs run as root on the test machines, where Chromium's own sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const session = await browser.target().createCDPSession();
  await session.send('Browser.setDownloadBehavior', { behavior: 'deny' });
  const close = async () => {
    await browser.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { browser, close };
}

/** Opens the status page with the operator's Basic credentials, so the browser keeps them for the origin; then stops answering challenges. */
async function loginAsOperator(page, base, password) {
  await page.authenticate({ username: 'operator', password });
  const answer = await page.goto(base + '/', { waitUntil: 'load' });
  const statusPage = {
    status: answer ? answer.status() : 0,
    title: await page.title(),
    heading: await page.$eval('h1', (h) => h.textContent).catch(() => null),
  };
  await page.authenticate(null);
  return statusPage;
}

/** An HTTP server on <host>:<port> (0: any free port) answering with handle(req, res); resolves with it and its origin. */
function serve(host, port, handle) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handle);
    server.on('error', reject);
    server.listen(port, host, () => resolve({ server, origin: `http://${host}:${server.address().port}` }));
  });
}

/** The request's body as text. */
function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}

/**
 * Records what the browser got from <origin> in every page and frame it watches: method, path and status of each
 * answer, or the reason a request failed (e.g. a no-cors answer blocked by Cross-Origin-Resource-Policy).
 * New windows are watched from their creation on, which can be too late for their first request: read their
 * navigation's status with navigationStatus instead.
 */
function watchAnswers(browser, origin) {
  const seen = [];
  const watched = new WeakSet();
  const ours = (request) => new URL(request.url()).origin === origin;
  const where = (request) => {
    const url = new URL(request.url());
    return { method: request.method(), path: url.pathname + url.search };
  };
  const watch = (page) => {
    if (watched.has(page)) return;
    watched.add(page);
    page.on('response', (response) => {
      if (ours(response.request())) seen.push({ ...where(response.request()), status: response.status() });
    });
    page.on('requestfailed', (request) => {
      if (ours(request)) seen.push({ ...where(request), failure: (request.failure() || {}).errorText || 'failed' });
    });
  };
  browser.on('targetcreated', async (target) => {
    if (target.type() !== 'page') return;
    const page = await target.page().catch(() => null);
    if (page) watch(page);
  });
  return { seen, watch };
}

/** The status of the answer a page or frame was navigated to (Resource Timing's responseStatus), or null. */
async function navigationStatus(frame) {
  return frame.evaluate(() => {
    const entry = performance.getEntriesByType('navigation')[0];
    return entry && entry.responseStatus ? entry.responseStatus : null;
  }).catch(() => null);
}

/** Prints the findings as one JSON line and ends the process. */
function report(findings) {
  process.stdout.write(JSON.stringify(findings) + '\n');
}

/** Runs main(settings); a failure is reported as {"error": ...} and exit code 1. */
function run(main) {
  main(readSettings())
    .then((findings) => {
      report(findings);
      process.exit(0);
    })
    .catch((e) => {
      report({ error: String(e && e.stack || e) });
      process.exit(1);
    });
}

module.exports = { launch, loginAsOperator, serve, readBody, watchAnswers, navigationStatus, report, run };
