#!/usr/bin/env python3
"""A `wsim drive --client-cmd` client in Python on the `websockets` library, speaking the JSON
Lines of docs/client-protocol.md:

    wsim drive SCENARIO --target ws://... \
      --client-cmd 'target/pyenv/bin/python3 tests/clients/websockets_client.py'

It is a small resilient client of its own: keepalive pings (every 0.5 s, 1 s timeout), reconnects with
exponential backoff and jitter (0.5 s to 8 s), keeps every message until the server
acknowledges it and sends it again after a reconnect (same id), resumes from the last number
it saw (`last_seq`), and drops a replayed number it has seen.
"""

import asyncio
import json
import random
import sys
import urllib.parse

import websockets


def out(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Client:
    def __init__(self):
        self.pending = []  # (id, text), oldest first, until acknowledged
        self.last_seq = None
        self.ws = None
        self.closing = False
        self.n = 0
        self.client_id = ""

    async def run(self, url, client_id, username, room):
        self.client_id = client_id
        delay = 0.5
        failures = 0  # attempts failed since the last link that opened
        while not self.closing:
            query = {"room": room, "username": username, "client_id": client_id}
            if self.last_seq is not None:
                query["last_seq"] = str(self.last_seq)
            out(event="connecting")
            opened = False
            reason = "reset"
            try:
                async with websockets.connect(
                    f"{url}?{urllib.parse.urlencode(query)}",
                    ping_interval=0.5,
                    ping_timeout=1,
                    open_timeout=2,
                    close_timeout=1,
                ) as ws:
                    self.ws, opened = ws, True
                    out(event="connected")
                    delay = 0.5
                    for mid, text in list(self.pending):
                        await self.write(mid, text)
                    async for raw in ws:
                        self.handle(json.loads(raw))
                reason = "closed_by_peer"
            except websockets.ConnectionClosedOK:
                reason = "closed_by_peer"
            except websockets.ConnectionClosedError as e:
                reason = "ping_timeout" if "keepalive" in str(e) else "reset"
            except (TimeoutError, asyncio.TimeoutError):
                reason = "connect_timeout"
            except OSError:
                reason = "connect_failed" if not opened else "reset"
            except websockets.InvalidHandshake:
                reason = "connect_failed"
            self.ws = None
            if self.closing:
                reason = "client_closed"
            out(event="disconnected", reason=reason)
            if self.closing:
                return
            failures = 1 if opened else failures + 1
            wait = delay * (0.5 + random.random() / 2)
            out(event="reconnecting", attempt=failures, delay_ms=round(wait * 1000))
            await asyncio.sleep(wait)
            delay = min(delay * 2, 8.0)

    async def write(self, mid, text):
        await self.ws.send(json.dumps({"type": "chat_message", "id": mid, "text": text}))
        out(event="sent", id=mid)

    async def send(self, text):
        self.n += 1
        mid = f"{self.client_id}:{self.n}"
        self.pending.append((mid, text))
        if self.ws is None:
            out(event="buffered", id=mid, pending=len(self.pending))
            return
        try:
            await self.write(mid, text)
        except websockets.ConnectionClosed:
            pass  # sent again after the reconnect

    def handle(self, m):
        kind = m.get("type")
        if kind == "welcome":
            out(event="welcome", recovered=bool(m.get("recovered")), replayed=m.get("replayed", 0))
            if not m.get("recovered"):
                self.last_seq = m.get("last_seq")
        elif kind == "ack":
            self.pending = [p for p in self.pending if p[0] != m["id"]]
            self.last_seq = max(self.last_seq or 0, m["seq"])
            out(event="acked", id=m["id"], seq=m["seq"])
        elif kind == "chat_message":
            if self.last_seq is not None and m["seq"] <= self.last_seq:
                return  # seen (a replay overlapping live delivery)
            self.last_seq = m["seq"]
            out(**{"event": "received", "id": m.get("id", ""), "from": m.get("from", ""), "seq": m["seq"]})
        elif kind in ("user_joined", "user_away", "user_reconnected", "user_left"):
            out(event="presence", kind=kind, username=m["username"])


async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    client = Client()
    runner = None
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        if cmd["cmd"] == "connect":
            runner = asyncio.create_task(
                client.run(cmd["url"], cmd["client_id"], cmd["username"], cmd["room"])
            )
        elif cmd["cmd"] == "send":
            await client.send(cmd["text"])
        elif cmd["cmd"] == "close":
            break
    client.closing = True
    if client.ws is not None:
        await client.ws.close()
    if runner is not None:
        try:
            await asyncio.wait_for(runner, 2)
        except (asyncio.TimeoutError, Exception):
            pass


if __name__ == "__main__":
    asyncio.run(main())
