"""A plain WebSocket echo server, a test fixture: it speaks WebSocket but not wsim's protocol
(docs/protocol.md), so it never sends `welcome`. `wsim drive` must say so within seconds.

    python3 echo_server.py --host 127.0.0.1 --port 8080

Needs Python 3.11+ and `websockets` (13 or newer); see requirements.txt.
"""

import argparse
import asyncio
import signal
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(args) -> int:
    async with serve(echo, args.host, args.port):
        print(f"listening on ws://{args.host}:{args.port}/", flush=True)
        await asyncio.get_running_loop().create_future()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A WebSocket echo server (a test fixture).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(asyncio.run(main(parser.parse_args())))
