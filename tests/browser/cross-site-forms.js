// A hostile page on another site, opened in a browser that has the operator's Basic login cached for the supervisor:
// it auto-submits text/plain and urlencoded forms (in iframes and new windows) and no-cors fetches with credentials
// to the supervisor's routes that change state, tries a DELETE, tries to read the session export and /status, and
// frames the status page. Prints what the browser saw of each attempt (the supervisor's answer status, never a body).
//
// stdin: {"supervisor": "http://127.0.0.1:PORT", "operatorPassword": "...", "did": "did:plc:...",
//         "attackerHost": "127.0.0.2", "login": {...}, "import": {...}, "record": {...}}
//   login / import / record: the JSON bodies the attacker would like to post to /accounts, /accounts/import and
//   createRecord (the spec makes them valid, so that only the supervisor's defences stand in the way).
'use strict';

const { launch, loginAsOperator, serve, watchAnswers, navigationStatus, run } = require('./support');

/** Every attempt: a name, how it is sent, where to, and which body. The name travels as ?attack=NAME. */
function attempts(s) {
  const did = encodeURIComponent(s.did);
  const list = [];
  const add = (name, via, path, enctype, body) => list.push({ name, via, path, enctype, body });
  for (const via of ['frame', 'fetch']) {
    add(`login-plain-${via}`, via, '/accounts', 'text/plain', s.login);
    add(`import-plain-${via}`, via, '/accounts/import', 'text/plain', s.import);
    add(`refresh-plain-${via}`, via, `/accounts/${did}/refresh`, 'text/plain', {});
    add(`record-plain-${via}`, via, `/accounts/${did}/xrpc/com.atproto.repo.createRecord`, 'text/plain', s.record);
  }
  add('login-form-frame', 'frame', '/accounts', 'application/x-www-form-urlencoded', s.login);
  add('import-form-frame', 'frame', '/accounts/import', 'application/x-www-form-urlencoded', s.import);
  add('refresh-form-frame', 'frame', `/accounts/${did}/refresh`, 'application/x-www-form-urlencoded', {});
  add('record-form-frame', 'frame', `/accounts/${did}/xrpc/com.atproto.repo.createRecord`, 'application/x-www-form-urlencoded', s.record);
  add('logout-form-frame', 'frame', `/accounts/${did}?_method=DELETE`, 'application/x-www-form-urlencoded', { _method: 'DELETE' });
  add('refresh-plain-window', 'window', `/accounts/${did}/refresh`, 'text/plain', {});
  add('record-plain-window', 'window', `/accounts/${did}/xrpc/com.atproto.repo.createRecord`, 'text/plain', s.record);
  add('login-plain-window', 'window', '/accounts', 'text/plain', s.login);
  add('import-plain-window', 'window', '/accounts/import', 'text/plain', s.import);
  add('logout-form-window', 'window', `/accounts/${did}?_method=DELETE`, 'application/x-www-form-urlencoded', { _method: 'DELETE' });
  add('status-window', 'window', '/', 'get', {});
  return list;
}

/** The attacker's page: runs every attempt, then leaves its results in window.__results. */
function attackerPage(s, list) {
  const config = { supervisor: s.supervisor, did: s.did, attempts: list };
  return `<!doctype html><html><head><meta charset="utf-8"><title>attacker</title></head><body>
<iframe id="status-frame" src="${s.supervisor}/?attack=status-frame"></iframe>
<script>
const config = ${JSON.stringify(config).replace(/</g, '\\u003c')};
const url = (a) => config.supervisor + a.path + (a.path.includes('?') ? '&' : '?') + 'attack=' + a.name;
function field(form, name, value) {
  const input = document.createElement('input');
  input.type = 'hidden'; input.name = name; input.value = value;
  form.appendChild(input);
}
// A JSON object sent as text/plain: the form's single field "{...,"pad":"" = ""}" is valid JSON.
function fill(form, a) {
  if (a.enctype === 'text/plain') {
    const json = JSON.stringify(Object.assign({}, a.body, { pad: '' }));
    field(form, json.slice(0, -2), '"}');
  } else {
    for (const [k, v] of Object.entries(a.body)) field(form, k, typeof v === 'string' ? v : JSON.stringify(v));
  }
}
function submit(a, target) {
  if (a.enctype === 'get') return window.open(url(a), target);
  const form = document.createElement('form');
  form.method = 'POST'; form.enctype = a.enctype; form.action = url(a); form.target = target;
  fill(form, a);
  document.body.appendChild(form);
  form.submit();
}
function viaFrame(a) {
  return new Promise((resolve) => {
    const frame = document.createElement('iframe');
    frame.name = 'f-' + a.name;
    document.body.appendChild(frame);
    let loads = 0;
    frame.onload = () => { if (++loads === 1) submit(a, frame.name); else resolve('loaded'); };
    frame.src = 'about:blank';
    setTimeout(() => resolve('timeout'), 15000);
  });
}
async function viaFetch(a) {
  const body = a.enctype === 'text/plain' ? JSON.stringify(a.body) : new URLSearchParams(a.body).toString();
  try {
    const r = await fetch(url(a), { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': a.enctype }, body });
    return { type: r.type, status: r.status };
  } catch (e) {
    return { error: e.name };
  }
}
function viaWindow(a) {
  submit(a, 'w-' + a.name);
  return Promise.resolve('opened');
}
async function read(path, options) {
  try {
    const r = await fetch(config.supervisor + path, Object.assign({ credentials: 'include' }, options));
    const text = await r.text();
    return { ok: true, status: r.status, bytes: text.length };
  } catch (e) {
    return { ok: false, error: e.name };
  }
}
// Nothing the attacker tries may keep the page from reporting: every attempt has 20 s.
const within = (promise) => Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve('timeout'), 20000))]);
(async () => {
  const results = { attempts: {}, reads: {} };
  window.__partial = results;
  await Promise.all(config.attempts.map(async (a) => {
    results.attempts[a.name] = await within(a.via === 'frame' ? viaFrame(a) : a.via === 'fetch' ? viaFetch(a) : viaWindow(a));
  }));
  const did = encodeURIComponent(config.did);
  results.reads.session = await within(read('/accounts/' + did + '/session?attack=read-session'));
  results.reads.status = await within(read('/status?attack=read-status'));
  results.reads.delete = await within(read('/accounts/' + did + '?attack=delete', { method: 'DELETE' }));
  window.__results = results;
})();
</script></body></html>`;
}

run(async (s) => {
  const list = attempts(s);
  const attacker = await serve(s.attackerHost || '127.0.0.2', 0, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(attackerPage(s, list));
  });
  const { browser, close } = await launch();
  try {
    const answers = watchAnswers(browser, new URL(s.supervisor).origin);
    const page = await browser.newPage();
    answers.watch(page);
    const consoleMessages = [];
    page.on('console', (m) => consoleMessages.push(m.text().slice(0, 300)));
    page.on('pageerror', (e) => consoleMessages.push('page error: ' + String(e.message).slice(0, 300)));
    const statusPage = await loginAsOperator(page, s.supervisor, s.operatorPassword);

    await page.goto(attacker.origin + '/', { waitUntil: 'load' });
    await page.waitForFunction(() => window.__results, { timeout: 120000, polling: 250 }).catch(async (e) => {
      const partial = await page.evaluate(() => JSON.stringify(window.__partial)).catch((x) => 'unreadable: ' + x.message);
      throw new Error(`${e.message}; the attacker's page is at ${page.url()} with ${partial}`);
    });
    const results = await page.evaluate(() => window.__results);
    const tagged = (name) => (url) => url.includes('attack=' + name + '&') || url.endsWith('attack=' + name);

    // The new windows: what each was answered (they load on their own; up to 30 s).
    const windows = {};
    const deadline = Date.now() + 30000;
    for (const a of list.filter((x) => x.via === 'window')) {
      let status = null;
      let error = null;
      for (;;) {
        const popup = (await browser.pages()).find((p) => tagged(a.name)(p.url()));
        status = popup ? await navigationStatus(popup.mainFrame()) : null;
        if (status !== null) {
          const text = await popup.evaluate(() => document.body ? document.body.innerText : '').catch(() => '');
          try { error = JSON.parse(text).error || null; } catch { error = null; }
          break;
        }
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      windows[a.name] = { status, error };
    }

    // What each frame holds now: a frame refused by the supervisor's answer holds Chromium's error page
    // (chrome-error://), read from the frame's own document (network events of a cross-site frame can go unreported).
    const inside = async (frame) => frame
      ? frame.evaluate(() => ({ document: location.href, heading: document.querySelector('h1') ? document.querySelector('h1').textContent : null }))
        .catch(() => ({ document: null, heading: null }))
      : { document: null, heading: null };
    const handle = await page.$('#status-frame');
    const framed = await inside(handle && await handle.contentFrame());

    const frameDocuments = {};
    for (const a of list.filter((x) => x.via === 'frame')) frameDocuments[a.name] = (await inside(page.frames().find((f) => f.name() === 'f-' + a.name))).document;
    const answered = (name) => answers.seen.filter((r) => tagged(name)(r.path));
    return {
      statusPage,
      attempts: list.map((a) => {
        const seen = answered(a.name);
        const answer = a.via === 'window' ? windows[a.name] : {
          status: (seen.find((r) => r.status) || {}).status,
          failure: (seen.find((r) => r.failure) || {}).failure,
        };
        return {
          name: a.name, via: a.via, page: results.attempts[a.name], status: answer.status || null, failure: answer.failure || null, error: answer.error || null,
          document: a.via === 'frame' ? frameDocuments[a.name] : null,
        };
      }),
      reads: results.reads,
      frame: {
        heading: framed.heading,
        document: framed.document,
        status: (answered('status-frame').find((r) => r.status) || {}).status || null,
        failure: (answered('status-frame').find((r) => r.failure) || {}).failure || null,
      },
      console: consoleMessages.slice(0, 60),
    };
  } finally {
    await close();
    attacker.server.close();
  }
});
