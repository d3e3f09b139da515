"""A webhook receiver on loopback for the async tests: records each signed POST it gets.

It answers 204 while ``healthy`` is set (from the start) and 500 otherwise, so one receiver
serves the tests of deliveries and of retries after a failing receiver.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serpgate.webhooks.signature import HEADER


@dataclass
class WebhookReceiver:
    url: str = ""
    healthy: threading.Event = field(default_factory=threading.Event)
    got: list[tuple[str, bytes]] = field(default_factory=list)


@contextmanager
def receiving(*, healthy: bool = True) -> Iterator[WebhookReceiver]:
    """Serve a receiver on 127.0.0.1 for the block's length; ``got`` holds (signature, body)."""
    receiver = WebhookReceiver()
    if healthy:
        receiver.healthy.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.got.append((self.headers[HEADER], body))
            self.send_response(204 if receiver.healthy.is_set() else 500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
