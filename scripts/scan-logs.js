// Scans the log output of a whole test run for secrets: every host process's JSON log
// (RESULTS/host-logs/*), the whole test output (RESULTS/dotnet-test.log) and the TRX files (RESULTS/*.trx,
// which alone hold the output of passing tests, Akka's log lines included; XML entities are decoded first)
// for JWT-shaped strings, the real-PDS test passwords (pw- and 32 hex digits), the test token key, and every
// secret the tests registered: the specs write each password they create and each token key a host process
// used into RESULTS/host-logs/*.secrets (one "kind<TAB>value" a line; these files are read, not scanned).
// Prints what it counted (never a secret); exits 1 when it found any, or when it read no log at all. With
// --whole-run (the whole suite ran, which starts host processes and registers secrets), also when it found no
// host's log or no registered secret: the scan would otherwise pass having searched nothing that matters.
// Usage: node scripts/scan-logs.js RESULTS [--whole-run]
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");

const dir = process.argv[2];
const wholeRun = process.argv.includes("--whole-run");
if (!dir) {
  console.error("usage: node scripts/scan-logs.js RESULTS");
  process.exit(2);
}
const testKey = crypto.createHash("sha256").update("supervisor test key").digest("base64");
const files = [path.join(dir, "dotnet-test.log")];
if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (f.endsWith(".trx")) files.push(path.join(dir, f));
const logs = path.join(dir, "host-logs");
const secretFiles = [];
if (fs.existsSync(logs))
  for (const f of fs.readdirSync(logs)) (f.endsWith(".secrets") ? secretFiles : files).push(path.join(logs, f));

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const patterns = {
  "JWT-shaped strings": /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g,
  "test passwords": /pw-[0-9a-f]{32}/g,
  "token keys": new RegExp(escape(testKey), "g"),
};

// The secrets the specs registered, by kind (password, token-key, admin-token, ...).
const registered = new Map();
for (const file of secretFiles) {
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const tab = line.indexOf("\t");
    if (tab <= 0 || tab === line.length - 1) continue;
    const kind = line.slice(0, tab);
    if (!registered.has(kind)) registered.set(kind, new Set());
    registered.get(kind).add(line.slice(tab + 1));
  }
}
// A secret too short to search for would match everywhere: the spec that registered it must use a longer one.
const tooShort = [...registered].flatMap(([kind, values]) => [...values].filter((v) => v.length < 5).map(() => kind));
if (tooShort.length) {
  console.error(`log scan: ${tooShort.length} registered secrets are shorter than 5 characters (${[...new Set(tooShort)].join(", ")}): give those specs longer ones`);
  process.exit(1);
}
for (const [kind, values] of registered) {
  const name = `registered ${kind}s`;
  // Longest first, so that a secret that contains another is counted once.
  patterns[name] = new RegExp([...values].sort((a, b) => b.length - a.length).map(escape).join("|"), "g");
}

// TRX is XML: what a test wrote is stored with its entities escaped.
const decodeXml = (text) =>
  text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, "&");

const found = Object.fromEntries(Object.keys(patterns).map((name) => [name, 0]));
let lines = 0;
let read = 0;
for (const file of files.filter((f) => fs.existsSync(f) && fs.statSync(f).isFile())) {
  let text = fs.readFileSync(file, "utf8");
  if (file.endsWith(".trx")) text = decodeXml(text);
  read++;
  lines += text.split("\n").length;
  for (const [name, re] of Object.entries(patterns)) {
    const n = (text.match(re) || []).length;
    if (n) console.error(`log scan: ${n} ${name} in ${path.relative(dir, file)}`);
    found[name] += n;
  }
}
const searched = [...registered].map(([kind, values]) => `${values.size} ${kind}s`).join(", ") || "none";
console.log(`log scan: ${read} files, ${lines} lines, registered secrets searched: ${searched}: ` +
  Object.entries(found).map(([k, v]) => `${v} ${k}`).join(", "));
if (read === 0) {
  console.error(`log scan: no log to scan in ${dir}: nothing was checked`);
  process.exit(1);
}
const hostLogs = files.filter((f) => path.dirname(f) === logs).length;
if (wholeRun && (hostLogs === 0 || registered.size === 0)) {
  console.error(`log scan: the whole suite ran, but ${hostLogs} host logs and ${secretFiles.length} files of registered secrets are in ${logs}: ` +
    "the hosts' logs or the specs' secrets did not reach it (SUPERVISOR_TEST_LOG_DIR), and nothing that matters was checked");
  process.exit(1);
}
process.exit(Object.values(found).some((n) => n > 0) ? 1 : 0);
