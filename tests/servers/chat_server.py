"""A WebSocket chat server in Python that speaks wsim's wire protocol (docs/protocol.md).

This is a test fixture for `wsim drive`. wsim did not write it: it shows that `wsim drive` can
test a server written in any language. It ports the logic of examples/chat-server (sessions
bound to a client's key, a grace period after a drop, per-room sequence numbers, bounded
history for replay, de-duplication of message ids) and adds the protocol's incarnation
(`epoch`) rules.

    python3 chat_server.py --host 127.0.0.1 --port 0 [--grace 30] [--ping-interval 20]
        [--ping-timeout 20] [--pidfile PATH] [--port-file PATH] [--bug BUG]

`--bug` plants a bug for wsim to find. `replay-nothing`: a client resuming within the grace
period is told `recovered: true, replayed: 0` and misses what was sent while it was away.
`left-while-connected`: a member back within the grace period is announced `user_left` a
second later, while it is connected.

Needs Python 3.11+ and `websockets` (13 or newer, its asyncio API); see requirements.txt.
"""

import argparse
import asyncio
import collections
import json
import logging
import os
import re
import secrets
import signal
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

HISTORY_LIMIT = 1000  # messages kept per room for replay
DEDUP_TTL = 300.0  # seconds a message id is remembered per client_id
DEDUP_LIMIT = 10_000  # ids remembered per client_id at most
SEND_QUEUE_FRAMES = 4096  # a connection with more frames queued is closed with 1013
MAX_MESSAGE_BYTES = 64 * 1024
EPOCH = secrets.token_hex(8)  # this incarnation of the server: 16 hex digits


@dataclass
class Request:
    """A connection request, as its query states it."""

    client_id: str
    username: str
    room: str
    key: str | None  # session_key (or its older name resume)
    attempt: int | None
    last_seq: int | None
    epoch: str | None


class Refusal(Exception):
    """An HTTP answer instead of the upgrade."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def parse_request(target: str) -> Request:
    """Reads the path and query of an upgrade request (form-decoded)."""
    url = urllib.parse.urlsplit(target)
    if url.path != "/ws":
        raise Refusal(404, "not found")
    pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True, errors="replace")

    def get(name):
        return next((v for k, v in pairs if k == name and v), None)

    def required(name):
        value = get(name)
        if value is None:
            raise Refusal(400, f"missing {name}")
        return value

    def number(name):
        value = get(name)
        if value is not None and not re.fullmatch(r"[0-9]+", value):
            raise Refusal(400, f"{name} is not an integer")
        return None if value is None else int(value)

    return Request(
        client_id=required("client_id"),
        username=required("username"),
        room=required("room"),
        key=get("session_key") or get("resume"),
        attempt=number("attempt"),
        last_seq=number("last_seq"),
        epoch=get("epoch"),
    )


class Conn:
    """A live connection: an ordered outgoing queue drained by a writer task."""

    def __init__(self, ws):
        self.ws = ws
        self.queue: asyncio.Queue = asyncio.Queue()
        self.closed = False
        self.closer: asyncio.Task | None = None
        self.writer = asyncio.create_task(self._write())

    async def _write(self):
        try:
            while True:
                await self.ws.send(await self.queue.get())
        except ConnectionClosed:
            pass

    def send(self, frame: dict):
        if self.closed:
            return
        if self.queue.qsize() >= SEND_QUEUE_FRAMES:
            self.close(1013, "reading too slowly")
            return
        self.queue.put_nowait(json.dumps(frame))

    def close(self, code: int, reason: str):
        """Sends a close frame at once (what is still queued is dropped)."""
        if self.closed:
            return
        self.closed = True
        self.writer.cancel()
        self.closer = asyncio.create_task(self.ws.close(code, reason))


@dataclass
class Session:
    key: str
    keyed: bool  # whether the client presented the key (rather than the server drawing it)
    username: str
    room: str
    first_seq: int  # the room's latest seq when the session opened
    live: Conn | None = None
    attempt: int | None = None  # of the connection that last opened or resumed it
    drops: int = 0  # bumped at every drop and resume: a grace timer acts only for its own


@dataclass
class Room:
    members: set = field(default_factory=set)
    last_seq: int = 0
    history: collections.deque = field(default_factory=lambda: collections.deque(maxlen=HISTORY_LIMIT))


class ChatServer:
    def __init__(self, grace: float, bug: str | None):
        self.grace, self.bug = grace, bug
        self.sessions: dict[str, Session] = {}
        self.rooms: dict[str, Room] = {}
        # client_id -> {message id: (seq, accepted at)}, oldest first. Kept outside the
        # session: a retry after the session expired is still a duplicate.
        self.dedup: dict[str, dict[str, tuple[int, float]]] = {}

    def check(self, req: Request):
        """Raises the Refusal for a claim the server will not honour."""
        session = self.sessions.get(req.client_id)
        if session is None:
            return
        if req.key is not None and req.key != session.key:
            raise Refusal(409, "this client id's session has another key")
        if req.key is None and session.keyed:
            raise Refusal(409, "this session needs its key")
        if req.attempt is not None and session.attempt is not None and req.attempt <= session.attempt:
            raise Refusal(409, "stale attempt")

    def attach(self, req: Request, conn: Conn) -> bool:
        """Opens or resumes the session of `req` on `conn`: welcome, replay, presence."""
        try:
            self.check(req)
        except Refusal:
            return False
        session = self.sessions.get(req.client_id)
        resumed = session is not None
        if session is None:
            room = self.rooms.setdefault(req.room, Room())
            session = Session(
                key=req.key or secrets.token_hex(16),
                keyed=req.key is not None,
                username=req.username,
                room=req.room,
                first_seq=room.last_seq,
            )
            self.sessions[req.client_id] = session
        room = self.rooms.setdefault(session.room, Room())
        was_away = session.live is None
        old, session.live = session.live, conn
        if old is not None:
            old.close(4000, "replaced")
        if req.attempt is not None:
            session.attempt = req.attempt
        session.drops += 1

        recovered, replay = False, []
        if resumed:
            # Numbers from another incarnation (or none at all) say the client has seen
            # nothing this session was sent: replay from where the session opened.
            foreign = req.epoch is not None and req.epoch != EPOCH
            since = session.first_seq if foreign or req.last_seq is None else req.last_seq
            oldest = room.history[0]["seq"] if room.history else room.last_seq + 1
            recovered = since <= room.last_seq and since + 1 >= oldest
            if recovered:
                replay = [m for m in room.history if m["seq"] > since and m["from"] != req.client_id]
            if self.bug == "replay-nothing":
                recovered, replay = True, []  # the planted bug: a silent gap
        conn.send({
            "type": "welcome", "client_id": req.client_id, "username": session.username,
            "room": session.room, "resume_secret": session.key, "recovered": recovered,
            "replayed": len(replay), "last_seq": room.last_seq, "epoch": EPOCH,
        })
        for message in replay:
            conn.send(message)
        if not resumed:
            room.members.add(req.client_id)
            self.broadcast(room, req.client_id, {"type": "user_joined", "username": session.username})
        elif was_away:
            self.broadcast(room, req.client_id, {"type": "user_reconnected", "username": session.username})
            if self.bug == "left-while-connected":
                # The planted bug: a stale expiry announces the member gone a second after it
                # came back, while it is connected.
                left = {"type": "user_left", "username": session.username}
                asyncio.get_running_loop().call_later(1.0, self.broadcast, room, req.client_id, left)
        # else a takeover: presence does not change
        return True

    def detach(self, client_id: str, conn: Conn):
        """`conn` ended: if it was its session's live one, the grace period starts."""
        session = self.sessions.get(client_id)
        if session is None or session.live is not conn:
            return  # replaced: the session lives on in the newer connection
        session.live = None
        session.drops += 1
        room = self.rooms[session.room]
        self.broadcast(room, client_id, {"type": "user_away", "username": session.username})
        asyncio.get_running_loop().call_later(self.grace, self.expire, client_id, session, session.drops)

    def expire(self, client_id: str, session: Session, drops: int):
        """The grace period of drop number `drops` is over: end the session if still away."""
        if self.sessions.get(client_id) is not session or session.live is not None:
            return
        if session.drops != drops:
            return  # it came back (and maybe dropped again) since
        del self.sessions[client_id]
        room = self.rooms[session.room]
        room.members.discard(client_id)
        self.broadcast(room, client_id, {"type": "user_left", "username": session.username})
        asyncio.get_running_loop().call_later(DEDUP_TTL, self.prune_dedup, client_id)

    def prune_dedup(self, client_id: str) -> dict:
        now = time.monotonic()
        ids = self.dedup.get(client_id, {})
        while ids:
            first = next(iter(ids))
            if ids[first][1] + DEDUP_TTL > now and len(ids) <= DEDUP_LIMIT:
                break
            del ids[first]
        if not ids and client_id not in self.sessions:
            self.dedup.pop(client_id, None)
        return ids

    def chat(self, client_id: str, conn: Conn, msg_id: str, text: str):
        """A chat message: acknowledged, numbered and broadcast once."""
        session = self.sessions.get(client_id)
        if session is None or session.live is not conn:
            return  # a replaced connection's late frame
        ids = self.prune_dedup(client_id)
        if msg_id in ids:
            conn.send({"type": "ack", "id": msg_id, "seq": ids[msg_id][0]})
            return
        room = self.rooms[session.room]
        room.last_seq += 1
        message = {
            "type": "chat_message", "id": msg_id, "from": client_id,
            "username": session.username, "text": text, "seq": room.last_seq,
        }
        room.history.append(message)
        self.dedup.setdefault(client_id, ids)[msg_id] = (room.last_seq, time.monotonic())
        conn.send({"type": "ack", "id": msg_id, "seq": room.last_seq})
        self.broadcast(room, client_id, message)

    def broadcast(self, room: Room, except_id: str, frame: dict):
        for member in room.members:
            session = self.sessions.get(member)
            if member != except_id and session is not None and session.live is not None:
                session.live.send(frame)


def inbound(server: ChatServer, client_id: str, conn: Conn, text: str) -> bool:
    """Handles one text frame; False when the connection must close (not JSON)."""
    try:
        value = json.loads(text)
    except ValueError:
        conn.close(1007, "not JSON")
        return False
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "chat_message":
        msg_id, body = value.get("id"), value.get("text")
        if isinstance(msg_id, str) and isinstance(body, str):
            server.chat(client_id, conn, msg_id, body)
        else:
            conn.send({"type": "error", "message": "chat_message needs id and text"})
    elif kind == "ping":
        conn.send({"type": "pong"})
    elif kind == "pong":
        pass
    elif kind is None:
        conn.send({"type": "error", "message": "no type"})
    else:
        conn.send({"type": "error", "message": f"unknown type {json.dumps(kind)}"})
    return True


def make_handlers(server: ChatServer):
    def process_request(connection, request):
        try:
            server.check(parse_request(request.path))
        except Refusal as refusal:
            return connection.respond(refusal.status, refusal.reason + "\n")
        return None

    async def handler(ws):
        req = parse_request(ws.request.path)
        conn = Conn(ws)
        if not server.attach(req, conn):
            # Another connection took the id between our answer and the upgrade.
            conn.close(4001, "claim lost")
            await conn.closer
            return
        try:
            async for message in ws:
                if conn.closed:
                    break
                if isinstance(message, bytes):
                    conn.close(1003, "binary frames are not supported")
                    break
                if not inbound(server, req.client_id, conn, message):
                    break
        except ConnectionClosed:
            pass
        finally:
            server.detach(req.client_id, conn)
            conn.close(1000, "")
            await conn.closer

    return process_request, handler


def seconds_or_none(value: str) -> float | None:
    if value.lower() in ("none", "off"):
        return None
    seconds = float(value)
    return None if seconds <= 0 else seconds


def write_atomically(path: str, text: str):
    temp = f"{path}.tmp.{os.getpid()}"
    with open(temp, "w") as f:
        f.write(text + "\n")
    os.replace(temp, path)


async def main(args) -> int:
    server = ChatServer(grace=args.grace, bug=args.bug)
    process_request, handler = make_handlers(server)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(
        handler, args.host, args.port,
        process_request=process_request,
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        max_size=MAX_MESSAGE_BYTES,
        close_timeout=1,
        reuse_address=True,  # asyncio's default on POSIX; said for a restart on the same port
    ) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        if args.port_file:
            write_atomically(args.port_file, str(port))
        if args.pidfile:
            write_atomically(args.pidfile, str(os.getpid()))
        print(f"listening on ws://{args.host}:{port}/ws", flush=True)
        await stop  # leaving the block closes every connection (1001) within close_timeout
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A chat server for wsim's protocol (a test fixture).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--grace", type=float, default=30.0, help="grace period after a drop, seconds")
    parser.add_argument("--ping-interval", type=seconds_or_none, default=20.0, help="seconds; 0 or none disables")
    parser.add_argument("--ping-timeout", type=seconds_or_none, default=20.0, help="seconds; 0 or none disables")
    parser.add_argument("--pidfile")
    parser.add_argument("--port-file")
    parser.add_argument("--bug", choices=["replay-nothing", "left-while-connected"], help="plant a bug for wsim to find")
    # A client giving up mid-handshake (its connect timeout, a partition) is routine here.
    logging.getLogger("websockets.server").addFilter(lambda r: r.getMessage() != "opening handshake failed")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # until the event loop takes over
    sys.exit(asyncio.run(main(parser.parse_args())))
