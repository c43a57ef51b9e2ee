// An unmodified JavaScript automerge-repo peer, driven by the e2e tests
// (tests/e2e/js_peer.rs) against the real relay binary.
//
// Usage:
//   node peer.mjs edit <ws-url> <peer-id> <automerge-url> <field> <value>
//     finds the document, prints {"name": profile.name} as one JSON line on
//     stdout, sets profile[field] to the string value (a scalar string, as
//     Kartoteka writes profile fields), prints {"edited": true} and keeps
//     the connection open until stdin closes, so the relay can take the change.
//   node peer.mjs find <ws-url> <peer-id> <automerge-url>
//     tries to find the document and prints {"found": bool, "error": text}.
//
// The websocket adapter reports what the relay says only to its debug log, so
// the tests run this with DEBUG=automerge-repo:websocket:* and read stderr.

import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { ImmutableString } from "@automerge/automerge"

const [command, url, peerId, documentUrl, field, value] = process.argv.slice(2)

function say(object) {
  process.stdout.write(JSON.stringify(object) + "\n")
}

function connect() {
  // Retries once a second (the adapter's default is 5 s). Not 0: the adapter
  // then reconnects on every tick until a socket opens.
  const adapter = new WebSocketClientAdapter(url, 1000)
  return new Repo({ network: [adapter], peerId, sharePolicy: async () => true })
}

async function edit() {
  const repo = connect()
  const handle = await repo.find(documentUrl)
  const doc = handle.doc()
  say({ name: String(doc.profile?.name ?? "") })
  handle.change(doc => {
    doc.profile[field] = new ImmutableString(value)
  })
  say({ edited: true })
  // Stay connected until the test is done with us.
  process.stdin.resume()
  await new Promise(resolve => process.stdin.on("end", resolve))
  await repo.shutdown()
}

async function find() {
  const repo = connect()
  try {
    await repo.find(documentUrl)
    say({ found: true })
  } catch (error) {
    say({ found: false, error: String(error?.message ?? error) })
  }
  await repo.shutdown().catch(() => {})
}

const commands = { edit, find }
if (!commands[command]) {
  process.stderr.write(`unknown command ${command}; use edit or find\n`)
  process.exit(2)
}
commands[command]().then(
  () => process.exit(0),
  error => {
    process.stderr.write(`peer failed: ${error?.stack ?? error}\n`)
    process.exit(1)
  },
)
