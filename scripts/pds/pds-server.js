'use strict'
// The supervisor's test peer: the reference PDS (@atproto/pds) plus an in-memory PLC directory
// (@did-plc/server) in one Node process, both bound to 127.0.0.1. Started by ./start-pds.
//
// Reads: PDS_INSTALL_DIR (where node_modules is), PDS_BIND_HOST, PDS_PLC_PORT, PDS_PID_FILE,
// PDS_TEST_ACCESS_JWT_TTL / PDS_TEST_REFRESH_JWT_TTL (non-standard: token lifetimes such as "10s"),
// and every PDS_* variable the PDS reads itself.
const path = require('node:path')
const fs = require('node:fs')
const { createRequire } = require('node:module')

const need = (name) => process.env[name] || (console.error(`pds-server: ${name} is not set`), process.exit(2))
const load = createRequire(path.join(path.resolve(need('PDS_INSTALL_DIR')), 'package.json'))
const host = process.env.PDS_BIND_HOST || '127.0.0.1'
const log = (msg) => console.log(`[pds-server] ${new Date().toISOString()} ${msg}`)

// Express apps listen on every interface by default; keep them on the loopback address.
const bindToHost = (app) => {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, host, ...rest)
}

const startPlc = async () => {
  const { PlcServer, Database } = load('@did-plc/server')
  const port = parseInt(process.env.PDS_PLC_PORT || '2582', 10)
  const plc = PlcServer.create({ db: Database.mock(), port })
  bindToHost(plc.app)
  await plc.start()
  return { plc, url: `http://${host}:${port}` }
}

// The test knobs: wrap the token factories so new tokens get the configured lifetimes.
const shortenTokenLifetimes = () => {
  const auth = load('@atproto/pds/dist/account-manager/helpers/auth')
  for (const [name, ttl] of [['createAccessToken', process.env.PDS_TEST_ACCESS_JWT_TTL], ['createRefreshToken', process.env.PDS_TEST_REFRESH_JWT_TTL]]) {
    if (!ttl) continue
    const original = auth[name]
    auth[name] = (opts) => original({ ...opts, expiresIn: opts.expiresIn ?? ttl })
    log(`NON-STANDARD: ${name} lifetime ${ttl}`)
  }
}

const main = async () => {
  fs.mkdirSync(need('PDS_DATA_DIRECTORY'), { recursive: true })
  const { plc, url } = await startPlc()
  process.env.PDS_DID_PLC_URL = url
  shortenTokenLifetimes()
  const { PDS, envToCfg, envToSecrets, readEnv } = load('@atproto/pds')
  const env = readEnv()
  env.version = env.version || load('@atproto/pds/package.json').version
  const pds = await PDS.create(envToCfg(env), envToSecrets(env))
  bindToHost(pds.app)
  await pds.start()
  log(`pds ${env.version} listening on http://${host}:${env.port} (plc ${url})`)
  if (process.env.PDS_PID_FILE) fs.writeFileSync(process.env.PDS_PID_FILE, `${process.pid}\n`)

  let stopping = false
  const stop = async (signal) => {
    if (stopping) return
    stopping = true
    log(`${signal}: stopping`)
    setTimeout(() => process.exit(0), 10000).unref()
    await pds.destroy().catch((err) => log(`pds destroy failed: ${err}`))
    await plc.destroy().catch((err) => log(`plc destroy failed: ${err}`))
    process.exit(0)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err) => {
  console.error('[pds-server] failed to start:', err)
  process.exit(1)
})
