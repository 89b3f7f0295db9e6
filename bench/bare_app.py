"""The baseline for bench/read_path.py: a bare Starlette app returning fixed bytes.

Served with exactly the uvicorn settings `flowkick serve` uses, so the difference measured
is Flowkick's own work per request (key, feed and cache lookups, usage counting).
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = Path(sys.argv[1]).read_bytes()
HEADERS = {"ETag": '"bench"', "Cache-Control": "max-age=60, stale-while-revalidate=600", "Vary": "Origin"}


async def feed(request: Request) -> Response:
    return Response(BODY, headers=HEADERS, media_type="application/json")


app = Starlette(routes=[Route("/api/v1/social/{platform}", feed)])

if __name__ == "__main__":
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", proxy_headers=True, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
