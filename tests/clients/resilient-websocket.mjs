// A `wsim drive --client-cmd` adapter for the seed article's `ResilientWebSocket`
// (tests/seed-client/ResilientWebSocket.js, the article's code unchanged), speaking the JSON
// Lines of docs/client-protocol.md:
//
//   wsim drive SCENARIO --target ws://… \
//     --client-cmd 'node --experimental-websocket --no-warnings tests/clients/resilient-websocket.mjs'
//
// The article's class is given a WebSocket that reports what its sockets do (opened, closed,
// frames in, chat messages out) and is otherwise the global one. This script is the
// application: it connects when told, sends each message with an id (the protocol's optional
// `id`, which the article's `send` passes through), and closes when told.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const out = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
// The article logs to the console; stdout carries the protocol.
console.log = () => {};
console.error = () => {};

const Base = globalThis.WebSocket;
class Watched extends Base {
  constructor(url) {
    super(url);
    out({ event: 'connecting' });
    let open = false;
    this.addEventListener('open', () => {
      open = true;
      out({ event: 'connected' });
    });
    this.addEventListener('close', (e) => {
      let reason = 'connect_failed';
      if (closing) reason = 'client_closed';
      else if (open) reason = e.code === 1000 || e.code === 1001 ? 'closed_by_peer' : 'reset';
      out({ event: 'disconnected', reason });
    });
    this.addEventListener('message', (e) => {
      let m;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      switch (m.type) {
        case 'welcome':
          out({ event: 'welcome', recovered: Boolean(m.recovered), replayed: m.replayed ?? 0 });
          break;
        case 'ack':
          out({ event: 'acked', id: m.id, seq: m.seq });
          break;
        case 'chat_message':
          out({ event: 'received', id: m.id ?? '', from: m.from ?? '', seq: m.seq, username: m.username ?? '' });
          break;
        case 'user_joined':
        case 'user_away':
        case 'user_reconnected':
        case 'user_left':
          out({ event: 'presence', kind: m.type, username: m.username });
          break;
        default:
      }
    });
  }

  send(data) {
    try {
      const m = JSON.parse(data);
      if (m.type === 'chat_message') out({ event: 'sent', id: m.id });
    } catch {
      // not ours to judge
    }
    super.send(data);
  }
}

const source = readFileSync(new URL('../seed-client/ResilientWebSocket.js', import.meta.url), 'utf8');
const ResilientWebSocket = new Function('WebSocket', `${source}\nreturn ResilientWebSocket;`)(Watched);

let client = null;
let clientId = '';
// Set when the run tells the application to close (its own close, not a failure).
let closing = false;
let n = 0;
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.cmd === 'connect') {
    clientId = cmd.client_id;
    const q = new URLSearchParams({ room: cmd.room, username: cmd.username, client_id: cmd.client_id });
    client = new ResilientWebSocket(`${cmd.url}?${q}`);
    client.connect();
  } else if (cmd.cmd === 'send' && client) {
    n += 1;
    const id = `${clientId}:${n}`;
    if (client.state !== 'connected') out({ event: 'buffered', id });
    client.send({ type: 'chat_message', id, text: cmd.text });
  } else if (cmd.cmd === 'close') {
    closing = true;
    if (client) client.close();
    setTimeout(() => process.exit(0), 50);
  }
});
lines.on('close', () => process.exit(0));
