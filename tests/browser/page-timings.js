// The operator pages' timings in the browser, for bench/run pages (a benchmark, not a spec): the operator logs in with
// the read-only operator password (Basic, at /), then each page is visited `visits` times in one tab, in order. For each
// visit, from the page's Navigation Timing entry: the times from the navigation's start to the answer's first and last
// byte, to DOMContentLoaded's end and to the load event's end, the bytes transferred (headers and body) and the body's
// size, and the answer's status; also the time page.goto took as seen from here. The credentials are Chromium's own after the login (no request interception
// while measuring): any 401 seen after the login is reported.
//
// stdin: {"supervisor": "http://127.0.0.1:PORT", "operatorPassword": "...", "visits": 6, "pages": [{"name": "...", "path": "/..."}]}
'use strict';

const { launch, loginAsOperator, run } = require('./support');

/** The navigation entry of the page shown, once its load event has ended. */
async function navigationEntry(page) {
  await page.waitForFunction(() => {
    const e = performance.getEntriesByType('navigation')[0];
    return e && e.loadEventEnd > 0;
  }, { polling: 10, timeout: 60000 });
  return page.evaluate(() => {
    const e = performance.getEntriesByType('navigation')[0];
    return {
      firstByte: e.responseStart,
      lastByte: e.responseEnd,
      domContentLoaded: e.domContentLoadedEventEnd,
      load: e.loadEventEnd,
      transferSize: e.transferSize,
      bodySize: e.encodedBodySize,
      status: e.responseStatus,
    };
  });
}

async function visit(page, url) {
  const started = process.hrtime.bigint();
  const answer = await page.goto(url, { waitUntil: 'load', timeout: 60000 });
  const goto = Number(process.hrtime.bigint() - started) / 1e6;
  return { ...(await navigationEntry(page)), goto, status: answer ? answer.status() : 0 };
}

run(async (s) => {
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    let challenges = 0;
    page.on('response', (r) => { if (r.status() === 401) challenges++; });
    const started = process.hrtime.bigint();
    const login = await loginAsOperator(page, s.supervisor, s.operatorPassword);
    const loginMs = Number(process.hrtime.bigint() - started) / 1e6;
    const loginEntry = await navigationEntry(page);
    const loginChallenges = challenges;
    const pages = [];
    for (const p of s.pages) {
      const visits = [];
      for (let i = 0; i < s.visits; i++) visits.push(await visit(page, s.supervisor + p.path));
      pages.push({ name: p.name, visits });
    }
    return {
      chromium: await browser.version(),
      login: { ...loginEntry, goto: loginMs, status: login.status, challenges: loginChallenges },
      challengesAfterLogin: challenges - loginChallenges,
      pages,
    };
  } finally {
    await close();
  }
});
