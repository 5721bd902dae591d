// PDS answers that a browser could run as documents (HTML with a script, SVG with onload and a script, HTML sent
// without a Content-Type), opened through the supervisor's XRPC pass-through in a browser that holds the
// operator's Basic login and sends the admin bearer for that one navigation. Their scripts try to read an account's
// session export and send whatever they get to an exfiltration listener run here. Prints, per document, how the
// navigation ended, the answer's status and security headers, the page's title and marker afterwards, and
// everything the listener received (method and path, never a body).
//
// stdin: {"supervisor": "http://127.0.0.1:PORT", "operatorPassword": "...", "adminToken": "...",
//         "exfilPort": PORT, "documents": [{"name": "html", "path": "/accounts/.../xrpc/com.atproto.sync.getBlob?..."}]}
'use strict';

const { launch, loginAsOperator, serve, readBody, run } = require('./support');

const HEADERS = ['content-type', 'content-disposition', 'content-security-policy', 'x-content-type-options', 'cache-control', 'x-frame-options'];

run(async (s) => {
  const received = [];
  const exfil = await serve('127.0.0.1', s.exfilPort, async (req, res) => {
    const body = await readBody(req);
    received.push({ method: req.method, path: new URL(req.url, 'http://x').pathname, bytes: body.length });
    res.writeHead(204, { 'Access-Control-Allow-Origin': '*' });
    res.end();
  });
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    const consoleMessages = [];
    page.on('console', (m) => consoleMessages.push(m.text().slice(0, 300)));
    page.on('pageerror', (e) => consoleMessages.push('page error: ' + String(e.message).slice(0, 300)));
    const statusPage = await loginAsOperator(page, s.supervisor, s.operatorPassword);

    // The admin bearer goes with the navigation to the document only: never with what that document asks for.
    let bearerFor = null;
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (request.isInterceptResolutionHandled()) return;
      if (request.isNavigationRequest() && request.url() === bearerFor)
        request.continue({ headers: { ...request.headers(), authorization: 'Bearer ' + s.adminToken } });
      else request.continue();
    });

    const documents = [];
    for (const doc of s.documents) {
      await page.goto(s.supervisor + '/', { waitUntil: 'load' });
      const url = s.supervisor + doc.path;
      let answer = null;
      const onResponse = (response) => {
        if (response.url() === url) answer = response;
      };
      page.on('response', onResponse);
      bearerFor = url;
      let navigation = 'loaded';
      try {
        await page.goto(url, { waitUntil: 'load', timeout: 30000 });
      } catch (e) {
        navigation = String(e.message).split('\n')[0].replace(s.supervisor, '').slice(0, 200);
      }
      // Time for a script, an onload handler or a fetch to run, if anything runs at all.
      await new Promise((r) => setTimeout(r, 1500));
      bearerFor = null;
      page.off('response', onResponse);
      const headers = answer ? answer.headers() : {};
      documents.push({
        name: doc.name,
        navigation,
        status: answer ? answer.status() : null,
        headers: Object.fromEntries(HEADERS.map((h) => [h, headers[h] === undefined ? null : headers[h]])),
        url: page.url().replace(s.supervisor, ''),
        title: await page.title().catch(() => null),
        marker: await page.evaluate(() => document.documentElement.getAttribute('data-pwned')).catch(() => null),
      });
    }
    // A last moment for anything still on its way to the listener.
    await new Promise((r) => setTimeout(r, 1000));
    return { statusPage, documents, received, console: consoleMessages.slice(0, 60) };
  } finally {
    await close();
    exfil.server.close();
  }
});
