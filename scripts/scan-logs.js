// Scans the log output of a whole test run for secrets: every host process's JSON log
// (RESULTS/host-logs/*) and the whole test output (RESULTS/dotnet-test.log, Akka's log lines included)
// for JWT-shaped strings, the real-PDS test passwords (pw- and 32 hex digits) and the test token key.
// Prints what it counted; exits 1 when it found any.  Usage: node scripts/scan-logs.js RESULTS
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");

const dir = process.argv[2];
const testKey = crypto.createHash("sha256").update("supervisor test key").digest("base64");
const files = [path.join(dir, "dotnet-test.log")];
const logs = path.join(dir, "host-logs");
if (fs.existsSync(logs)) for (const f of fs.readdirSync(logs)) files.push(path.join(logs, f));

const patterns = {
  "JWT-shaped strings": /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g,
  "test passwords": /pw-[0-9a-f]{32}/g,
  "token keys": new RegExp(testKey.replace(/[+/=]/g, (c) => "\\" + c), "g"),
};
const found = Object.fromEntries(Object.keys(patterns).map((name) => [name, 0]));
let lines = 0;
let read = 0;
for (const file of files.filter((f) => fs.existsSync(f))) {
  const text = fs.readFileSync(file, "utf8");
  read++;
  lines += text.split("\n").length;
  for (const [name, re] of Object.entries(patterns)) {
    const n = (text.match(re) || []).length;
    if (n) console.error(`log scan: ${n} ${name} in ${path.relative(dir, file)}`);
    found[name] += n;
  }
}
console.log(`log scan: ${read} files, ${lines} lines: ` + Object.entries(found).map(([k, v]) => `${v} ${k}`).join(", "));
process.exit(Object.values(found).some((n) => n > 0) ? 1 : 0);
