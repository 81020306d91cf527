// Drives Segment's own Node client (@segment/analytics-node, test-only dependency) against a
// collector, for tests/server/test_real_clients.py.
//
// stdin: {"host", "writeKey", "flushAt", "gzip", "maxRetries", "calls": [{"method", "params"}]}
// stdout: one JSON line {"bodies": [every request body as sent], "statuses": [...],
//         "failures": [reasons of events the client reports as not delivered]}
//
// The client has no compression setting; its documented `httpClient` option (a fetch-like
// function) is how an application compresses, so "gzip": true sends each body gzipped with
// Content-Encoding: gzip through such a function.
'use strict'

const zlib = require('node:zlib')
const { Analytics } = require('@segment/analytics-node')

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = []
    process.stdin.on('data', (c) => chunks.push(c))
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    process.stdin.on('error', reject)
  })
}

function gzipFetch(url, init) {
  const headers = { ...init.headers, 'Content-Encoding': 'gzip' }
  return fetch(url, { ...init, headers, body: zlib.gzipSync(Buffer.from(init.body, 'utf8')) })
}

async function main() {
  const config = JSON.parse(await readStdin())
  const settings = {
    writeKey: config.writeKey,
    host: config.host,
    maxRetries: config.maxRetries,
  }
  if (config.flushAt) settings.flushAt = config.flushAt
  if (config.gzip) settings.httpClient = gzipFetch
  const analytics = new Analytics(settings)

  const bodies = []
  const statuses = []
  const failures = []
  analytics.on('http_request', (req) => {
    bodies.push(JSON.parse(req.body))
  })
  analytics.on('http_response', (res) => statuses.push(res.status))
  analytics.on('error', (err) => failures.push(String(err.reason || err.code || err)))

  const delivered = config.calls.map(
    ({ method, params }) =>
      new Promise((resolve) => {
        analytics[method](params, (err) => {
          if (err) failures.push(`${method}: ${err.reason || err}`)
          resolve()
        })
      })
  )
  // Sends the last, partly filled batch now instead of after flushInterval.
  await analytics.closeAndFlush({ timeout: 60000 })
  await Promise.all(delivered)
  process.stdout.write(JSON.stringify({ bodies, statuses, failures }) + '\n')
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\n')
  process.exit(1)
})
