// The real @atproto/api driving one account through the supervisor (tests/Actors.Tests/Clients/AtprotoApiClientSpec).
//
//   SUPERVISOR_ACCOUNT_KEY=<key> PDS_URL=<the account's PDS> node agent-flow.mjs <supervisor URL> <handle or DID> <png file>
//
// The URL, the identifier and the file may also come from SUPERVISOR_URL, SUPERVISOR_ACCOUNT and PNG_FILE. The key
// comes only from SUPERVISOR_ACCOUNT_KEY (an argument would show in the process list). What it does:
//   a. AtpAgent login at the supervisor, with the key as the password;
//   b. uploadBlob (the PNG) and post with an images embed; then Bluesky's video recipe: a service token from
//      getServiceAuth({ aud: `did:web:${agent.dispatchUrl.host}`, lxm: uploadBlob }) through the supervisor, and the
//      upload the video service makes with it, straight to the PDS (PDS_URL), as that service is not the agent;
//   c. getRecord of the post and sync.getBlob of the image, through the supervisor;
//   d. an Agent holding the key itself as a static bearer: one call, then withProxy(...) calls whose errors only
//      the PDS can give (so the atproto-proxy header reached it);
//   e. refreshSession and a call after it; logout (deleteSession), then the tokens of the ended session again.
// It prints ONE JSON line on stdout. Every request is recorded (origin, method, NSID, status; never a header) so
// the caller can see which server the agent talked to. Any failure: a message on stderr and exit code 1. The key and
// the tokens are never printed: everything written goes through redact() as well.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { Agent, AtpAgent, AtUri } from '@atproto/api'

const apiVersion = createRequire(import.meta.url)('@atproto/api/package.json').version
const [argUrl, argAccount, argFile] = process.argv.slice(2)
const supervisorUrl = (argUrl ?? process.env.SUPERVISOR_URL ?? '').replace(/\/+$/, '')
const identifier = argAccount ?? process.env.SUPERVISOR_ACCOUNT ?? ''
const pngFile = argFile ?? process.env.PNG_FILE ?? ''
const key = process.env.SUPERVISOR_ACCOUNT_KEY ?? ''
const pdsUrl = (process.env.PDS_URL ?? '').replace(/\/+$/, '')

/** Strings that must never be written: the key and every token the agents held. */
const secrets = new Set()
const remember = (...values) => values.forEach((v) => typeof v === 'string' && v.length >= 8 && secrets.add(v))
const redact = (text) => {
  let out = String(text)
  for (const s of secrets) out = out.split(s).join('[redacted]')
  return out.replace(/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '[redacted jwt]')
}

let current = 'start'
function fail(message) {
  process.stderr.write(redact(`agent-flow: ${current}: ${message}`) + '\n')
  process.exit(1)
}
async function step(name, fn) {
  current = name
  try {
    return await fn()
  } catch (e) {
    fail(describe(e))
  }
}
function check(condition, message) {
  if (!condition) fail(message)
}
const describe = (e) =>
  e && typeof e === 'object' && 'error' in e && 'status' in e
    ? `XRPC ${e.status} ${e.error}: ${e.message}`
    : `${e?.name ?? 'Error'}: ${e?.message ?? e}${e?.cause ? ` (cause: ${e.cause?.code ?? e.cause?.message ?? e.cause})` : ''}`
/** An XRPC error as data: the HTTP status, the error name and message. */
const asError = (e) => {
  if (!(e && typeof e === 'object' && 'error' in e && 'status' in e)) throw e
  return { status: e.status, error: e.error ?? null, message: e.message ?? null }
}
/** Runs a call that must fail with an XRPC error; returns that error. */
async function mustFail(name, fn) {
  return step(name, async () => {
    try {
      await fn()
    } catch (e) {
      return asError(e)
    }
    throw new Error('the call succeeded where an error was expected')
  })
}

check(/^https?:\/\//.test(supervisorUrl), 'the supervisor URL (argument 1 or SUPERVISOR_URL) is missing')
check(identifier.length > 0, 'the handle or DID (argument 2 or SUPERVISOR_ACCOUNT) is missing')
check(pngFile.length > 0, 'the PNG file (argument 3 or PNG_FILE) is missing')
check(key.length > 0, 'SUPERVISOR_ACCOUNT_KEY is not set')
check(/^https?:\/\//.test(pdsUrl), 'PDS_URL (the account\'s PDS, for the video service\'s upload) is not set')
remember(key)

/** Every request any agent made: where it went and what came back, never a header. */
const calls = []
const recordingFetch = (via) => async (input, init) => {
  const request = new Request(input, init)
  const url = new URL(request.url)
  const entry = { via, origin: url.origin, method: request.method, nsid: url.pathname.replace(/^\/xrpc\//, ''), status: null }
  calls.push(entry)
  // The agent must keep talking to the supervisor: its tokens are the supervisor's, and the PDS must not be reached around it.
  if (url.origin !== supervisorOrigin) throw new Error(`the agent sent ${entry.nsid} to ${url.origin} instead of the supervisor`)
  const response = await fetch(request)
  entry.status = response.status
  return response
}
const supervisorOrigin = new URL(supervisorUrl).origin
const endpoints = (agent) => ({
  serviceUrl: agent.serviceUrl?.href ?? null,
  pdsUrl: agent.pdsUrl?.href ?? null,
  dispatchUrl: agent.dispatchUrl?.href ?? null,
})
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')

const out = { apiVersion, supervisorUrl }

// ------------------------------------------------------------------ a. login with the key as the password
const agent = new AtpAgent({ service: supervisorUrl, fetch: recordingFetch('session') })
await step('login (createSession at the supervisor)', async () => {
  const res = await agent.login({ identifier, password: key })
  remember(res.data.accessJwt, res.data.refreshJwt)
  out.did = res.data.did
  out.handle = res.data.handle
  out.loginKeys = Object.keys(res.data).sort()
  out.sessionEmail = agent.session?.email ?? null
  out.sessionEmailConfirmed = agent.session?.emailConfirmed ?? null
  out.afterLogin = endpoints(agent)
})
const firstSession = { ...agent.session }

// ------------------------------------------------------------------ b. upload the image and post it
const bytes = await step('reading the PNG file', () => readFile(pngFile))
out.fileLength = bytes.length
out.fileSha256 = sha256(bytes)
const blob = await step('uploadBlob', async () => (await agent.uploadBlob(bytes, { encoding: 'image/png' })).data.blob)
out.blobCid = blob.ref.toString()
out.blobMimeType = blob.mimeType
out.blobSize = blob.size
out.postText = `An image posted through the supervisor by @atproto/api ${apiVersion}`
const post = await step('post', () =>
  agent.post({
    text: out.postText,
    embed: { $type: 'app.bsky.embed.images', images: [{ alt: 'a test image', image: blob }] },
  }),
)
out.postUri = post.uri
out.postCid = post.cid

// Bluesky's video recipe (docs.bsky.app, "Uploading video"): the client asks its PDS, here the supervisor, for a
// service token naming the server it talks to; the video service then uploads to the account's PDS with that token.
out.serviceAuth = {}
const serviceToken = await step('getServiceAuth (the video recipe)', async () => {
  const res = await agent.com.atproto.server.getServiceAuth({
    aud: `did:web:${agent.dispatchUrl.host}`,
    lxm: 'com.atproto.repo.uploadBlob',
    exp: Math.floor(Date.now() / 1000) + 60 * 30,
  })
  remember(res.data.token)
  const claims = JSON.parse(Buffer.from(res.data.token.split('.')[1], 'base64url').toString('utf8'))
  out.serviceAuth.askedAud = `did:web:${agent.dispatchUrl.host}`
  out.serviceAuth.aud = claims.aud
  out.serviceAuth.iss = claims.iss
  out.serviceAuth.lxm = claims.lxm
  return res.data.token
})
await step("the video service's uploadBlob at the PDS with the service token", async () => {
  const res = await fetch(`${pdsUrl}/xrpc/com.atproto.repo.uploadBlob`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serviceToken}`, 'content-type': 'image/png' },
    body: bytes,
  })
  out.serviceAuth.uploadStatus = res.status
  const body = await res.json().catch(() => null)
  out.serviceAuth.uploadError = body?.error ?? null
  out.serviceAuth.uploadBlobCid = body?.blob?.ref?.$link ?? null
})

// ------------------------------------------------------------------ c. read both back through the supervisor
const uri = new AtUri(post.uri)
await step('getRecord', async () => {
  const res = await agent.com.atproto.repo.getRecord({ repo: uri.hostname, collection: uri.collection, rkey: uri.rkey })
  out.recordCid = res.data.cid ?? null
  out.recordText = res.data.value?.text ?? null
  out.recordBlobCid = res.data.value?.embed?.images?.[0]?.image?.ref?.toString() ?? null
})
await step('sync.getBlob', async () => {
  const res = await agent.com.atproto.sync.getBlob({ did: out.did, cid: out.blobCid })
  const read = Buffer.from(res.data)
  out.blobContentType = res.headers['content-type'] ?? null
  out.blobReadLength = read.length
  out.blobReadSha256 = sha256(read)
  out.blobReadBase64 = read.toString('base64')
})
out.afterPost = endpoints(agent)

// ------------------------------------------------------------------ d. the key itself as a bearer, and atproto-proxy
// The pinned Agent takes FetchHandlerOptions ({ service, headers, fetch }): a static Authorization header works.
const keyAgent = new Agent({
  service: supervisorUrl,
  headers: { authorization: `Bearer ${key}` },
  fetch: recordingFetch('key'),
})
out.keyBearer = {}
await step('describeRepo with the key as bearer', async () => {
  const res = await keyAgent.com.atproto.repo.describeRepo({ repo: out.did })
  out.keyBearer.describeRepoDid = res.data.did
})
const profile = (a) => a.app.bsky.actor.getProfile({ actor: out.did })
out.keyBearer.withoutProxy = await mustFail('getProfile without atproto-proxy', () => profile(keyAgent))
out.keyBearer.labelerProxy = await mustFail("getProfile withProxy('atproto_labeler', 'did:web:labeler.test')", () =>
  profile(keyAgent.withProxy('atproto_labeler', 'did:web:labeler.test')),
)
out.keyBearer.ownDidProxy = await mustFail("getProfile withProxy('atproto_labeler', <the account's DID>)", () =>
  profile(keyAgent.withProxy('atproto_labeler', out.did)),
)

// ------------------------------------------------------------------ e. refresh, then logout
out.refresh = {}
await step('refreshSession', async () => {
  const before = agent.session
  await agent.sessionManager.refreshSession()
  remember(agent.session?.accessJwt, agent.session?.refreshJwt)
  check(agent.session, 'the agent has no session after refreshSession')
  out.refresh.accessChanged = agent.session.accessJwt !== before.accessJwt
  out.refresh.refreshChanged = agent.session.refreshJwt !== before.refreshJwt
  out.refresh.did = agent.session.did
})
await step('getSession after the refresh', async () => {
  out.refresh.getSessionDid = (await agent.com.atproto.server.getSession()).data.did
})
await step('describeRepo after the refresh', async () => {
  out.refresh.describeRepoDid = (await agent.com.atproto.repo.describeRepo({ repo: out.did })).data.did
})
out.afterRefresh = endpoints(agent)

const lastSession = { ...agent.session }
out.logout = {}
await step('logout (deleteSession)', async () => {
  const before = calls.length
  await agent.logout() // swallows errors: the recorded deleteSession status tells
  const deleted = calls.slice(before).find((c) => c.nsid === 'com.atproto.server.deleteSession')
  out.logout.deleteSessionStatus = deleted?.status ?? null
  out.logout.agentHasSession = agent.hasSession
})
// A fresh agent resuming with the ended session's tokens: resumeSession refreshes first, which must now fail.
const resume = async (session) => {
  const again = new AtpAgent({ service: supervisorUrl, fetch: recordingFetch('resume') })
  await again.resumeSession(session)
}
out.logout.lastRefreshToken = await mustFail('refresh with the logged-out refresh token', () => resume(lastSession))
out.logout.firstRefreshToken = await mustFail('refresh with the session\'s first refresh token', () => resume(firstSession))
out.logout.lastAccessToken = await step('describeRepo with the logged-out access token', async () => {
  const again = new AtpAgent({ service: supervisorUrl, fetch: recordingFetch('resume') })
  again.sessionManager.session = { ...lastSession, refreshJwt: undefined }
  try {
    await again.com.atproto.repo.describeRepo({ repo: out.did })
    return { status: 200, error: null, message: null }
  } catch (e) {
    return asError(e)
  }
})

out.requestOrigins = [...new Set(calls.map((c) => c.origin))]
out.calls = calls
process.stdout.write(redact(JSON.stringify(out)) + '\n')
