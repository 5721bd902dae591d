// The anchor of `bench/run memory`: N sessions held by @atproto/lex-password-session, the TypeScript client's own way
// (one PasswordSession each, with its hooks), on Node. Reads the sessions as JSON lines on standard input (the same
// tokens, DIDs, handles and service the supervisor's accounts hold), then prints the V8 heap they take after a full
// garbage collection, less the heap before them, over N. Run with --expose-gc.
import { PasswordSession } from '@atproto/lex-password-session'

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')

// Standard input is kept as bytes outside the V8 heap until each line is read, so that it is in neither heap figure.
const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = Buffer.concat(chunks)
function* lines() {
  for (let start = 0; start < input.length; ) {
    let end = input.indexOf(10, start)
    if (end < 0) end = input.length
    if (end > start) yield input.toString('utf8', start, end)
    start = end + 1
  }
}

const heap = () => {
  for (let i = 0; i < 3; i++) globalThis.gc()
  return process.memoryUsage().heapUsed
}

// Warm the class and its agent's code paths, as the supervisor's bench warms its own with 10 accounts first.
const warm = []
for (const line of lines()) if (warm.push(new PasswordSession(JSON.parse(line), {})) === 10) break
const before = heap()
const sessions = []
const saved = new Map()
for (const line of lines()) {
  const data = JSON.parse(line)
  sessions.push(
    new PasswordSession(data, {
      onUpdated: (updated) => saved.set(updated.did, updated),
      onDeleted: (deleted) => saved.delete(deleted.did),
    }),
  )
}
const after = heap()
console.log(JSON.stringify({ sessions: sessions.length, warm: warm.length, heapBytes: after, perSessionBytes: (after - before) / sessions.length }))
