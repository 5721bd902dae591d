// The operator's status page in the browser: opened with the operator's Basic login, it prints the answer's status
// and security headers, the page's title, how many script elements and images the DOM holds, the handles column
// as text, and whether anything marked the document (a handle from a hostile PDS may carry markup).
//
// stdin: {"supervisor": "http://127.0.0.1:PORT", "operatorPassword": "..."}
'use strict';

const { launch, run } = require('./support');

const HEADERS = ['content-type', 'content-security-policy', 'x-frame-options', 'x-content-type-options', 'cache-control'];

run(async (s) => {
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    const consoleMessages = [];
    page.on('console', (m) => consoleMessages.push(m.text().slice(0, 300)));
    await page.authenticate({ username: 'operator', password: s.operatorPassword });
    const answer = await page.goto(s.supervisor + '/', { waitUntil: 'load' });
    await new Promise((r) => setTimeout(r, 1000));
    const headers = answer.headers();
    const dom = await page.evaluate(() => ({
      heading: document.querySelector('h1') ? document.querySelector('h1').textContent : null,
      scripts: document.scripts.length,
      images: document.images.length,
      handles: [...document.querySelectorAll('table.accounts tbody tr td:first-child')].map((td) => td.textContent),
      marker: document.documentElement.getAttribute('data-pwned'),
    }));
    return {
      status: answer.status(),
      headers: Object.fromEntries(HEADERS.map((h) => [h, headers[h] === undefined ? null : headers[h]])),
      title: await page.title(),
      ...dom,
      console: consoleMessages.slice(0, 20),
    };
  } finally {
    await close();
  }
});
