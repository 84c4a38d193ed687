// Runs the seed article's `ResilientWebSocket` (ResilientWebSocket.js beside this file, the
// article's code unchanged) against `wsim serve` behind an idle-killing `wsim proxy`, with a
// plain WebSocket observer in the same room connected to the server directly.
//
//   node --experimental-websocket run.mjs <proxy ws url> <server ws url> <cycles>
//
// Each cycle: Alice sends a message right after her connection opens and the observer (Bob)
// sends her one, the proxy kills the idle connection, Alice sends another while disconnected
// (buffered, her reconnect flushes it) and Bob sends another (replayed when she resumes: the
// article's client never says what it has seen, so the server knows it).
// Prints one JSON line: what each saw. Exits 0 when every message arrived once, in order, both
// ways, and the observer saw Alice go away and come back every time; 1 otherwise.
import { readFileSync } from 'node:fs';

const [proxyUrl, serverUrl, cyclesArg] = process.argv.slice(2);
const cycles = Number(cyclesArg || 3);
const source = readFileSync(new URL('./ResilientWebSocket.js', import.meta.url), 'utf8');
const ResilientWebSocket = new Function(`${source}\nreturn ResilientWebSocket;`)();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, cond, ms = 20000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// The observer: a plain WebSocket straight to the server.
const seen = { chat: [], presence: [] };
const bob = new WebSocket(`${serverUrl}?room=general&username=Bob&client_id=bob`);
bob.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.type === 'chat_message') seen.chat.push(m.text);
  if (m.type.startsWith('user_') && m.username === 'Alice') seen.presence.push(m.type);
};
await until('the observer to connect', () => bob.readyState === WebSocket.OPEN);

// Quiet the article's console logging; keep errors visible.
console.log = () => {};
console.error = () => {};

const alice = new ResilientWebSocket(
  `${proxyUrl}?room=general&username=Alice&client_id=alice-123`,
);
const aliceGot = [];
alice.on_message((m) => {
  if (m.type === 'chat_message') aliceGot.push(m.text);
});
alice.connect();
const sent = [];
const bobSent = [];
let n = 0;
const send = () => {
  n += 1;
  sent.push(`m${n}`);
  alice.send({ type: 'chat_message', text: `m${n}`, timestamp: new Date().toISOString() });
  bobSent.push(`b${n}`);
  bob.send(JSON.stringify({ type: 'chat_message', id: `bob:${n}`, text: `b${n}` }));
};
try {
  for (let c = 0; c < cycles; c++) {
    await until('alice to be connected', () => alice.state === 'connected');
    send(); // written at once; Bob's reaches her live
    await until('the idle kill', () => alice.state === 'disconnected');
    send(); // buffered, flushed on the next open; Bob's replayed when she resumes
  }
  await until('alice to be connected', () => alice.state === 'connected');
  await until('every message to arrive', () => seen.chat.length >= sent.length
    && aliceGot.length >= bobSent.length, 5000).catch(() => {});
  await sleep(500); // anything arriving twice would arrive by now
} catch (e) {
  seen.error = String(e.message || e);
}
alice.close();
bob.close();

seen.aliceGot = aliceGot;
const inOrderOnce = JSON.stringify(seen.chat) === JSON.stringify(sent)
  && JSON.stringify(aliceGot) === JSON.stringify(bobSent);
const expectedPresence = [];
for (let c = 0; c < cycles; c++) expectedPresence.push('user_away', 'user_reconnected');
const presenceOk = seen.presence.slice(1).join() === expectedPresence.join()
  && seen.presence[0] === 'user_joined';
console.info(JSON.stringify({ sent, ...seen, inOrderOnce, presenceOk }));
process.exit(inOrderOnce && presenceOk && !seen.error ? 0 : 1);
