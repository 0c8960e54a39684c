"""A local stand-in HTTP server for outside services: a handler class on a free loopback port, in a thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextlib.contextmanager
def stand_in(handler: type[BaseHTTPRequestHandler], **state) -> Iterator[ThreadingHTTPServer]:
    """Serve handler on 127.0.0.1:<free port>; `state` becomes attributes of the server; stopped afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.requests = []
    for name, value in state.items():
        setattr(server, name, value)
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
