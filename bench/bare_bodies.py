"""The baseline for bench/scale.py: a bare Starlette app answering recorded bodies by URL.

Loads a pickle of {path with query: (status, headers, body)} recorded from Flowkick and
answers each URL with its bytes (already compressed, with their Content-Encoding), under
the uvicorn settings `flowkick serve` uses: what serving the same bytes at the same paths
costs with no work of Flowkick's at all.
"""

from __future__ import annotations

import pickle
import socket
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Recorded = dict[str, tuple[int, dict[str, str], bytes]]
BODIES: Recorded = pickle.loads(Path(sys.argv[1]).read_bytes())
MISSING = (404, {}, b"")


async def recorded(request: Request) -> Response:
    query = request.scope["query_string"].decode("latin-1")
    status, headers, body = BODIES.get(request.url.path + ("?" + query if query else ""), MISSING)
    return Response(body, status_code=status, headers=headers)


app = Starlette(routes=[Route("/{path:path}", recorded)])

if __name__ == "__main__":
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", proxy_headers=True, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
