"""``HttpsListener``: the sandbox's engines over TLS, each ClientHello read before the handshake.

Real engines judge a client by its TLS ClientHello before it sends a byte of HTTP, so the sandbox
must see it too. The listener accepts each connection itself, peeks at the first TLS record
(``MSG_PEEK`` leaves it in the socket for the handshake), records its JA4 (``fingerprint``) by
the client's address and port, and only then hands the socket to the sandbox's aiohttp server
with TLS on (``connect_accepted_socket``), so the request handlers see ordinary requests and look
the fingerprint up. The certificate is self-signed, made by ``openssl`` at start into a temporary
folder removed at close: clients must be told not to verify it
(``SERPGATE_UPSTREAM__VERIFY_TLS=false``).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import tempfile
from pathlib import Path

from aiohttp import web

from serpgate.sandbox.fingerprint import ClientHelloError, Fingerprints, ja4, record_length

# A client that has not sent its ClientHello by then is not a client worth waiting for.
_HELLO_TIMEOUT = 5.0
_MAX_RECORD = 16384 + 5


async def self_signed_context(folder: Path, host: str) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for ``host`` (an IP or a name)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the sandbox's HTTPS listener needs the openssl command to make its key")
    key, cert = folder / "key.pem", folder / "cert.pem"
    alt = f"IP:{host}" if host.replace(".", "").isdigit() or ":" in host else f"DNS:{host}"
    process = await asyncio.create_subprocess_exec(
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", "2", "-subj", "/CN=serpgate sandbox",
        "-addext", f"subjectAltName={alt},DNS:localhost",
        "-keyout", str(key), "-out", str(cert),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"openssl could not make the sandbox's certificate: {errors.decode()}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # aiohttp speaks HTTP/1.1 only: select it whatever the client offers (its offer, h2 or
    # not, is in the ClientHello already read); curl and Chromium both accept the choice.
    context.set_alpn_protocols(["http/1.1"])
    return context


class HttpsListener:
    def __init__(self, server: web.Server, fingerprints: Fingerprints, host: str) -> None:
        self._server = server
        self._fingerprints = fingerprints
        self._host = host
        self._socket: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._handshakes: set[asyncio.Task[None]] = set()
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self.port = 0

    async def start(self, port: int = 0) -> int:
        self._folder = tempfile.TemporaryDirectory(prefix="serpgate-sandbox-tls-")
        context = await self_signed_context(Path(self._folder.name), self._host)
        listener = socket.create_server((self._host, port))
        listener.setblocking(False)
        self._socket = listener
        self.port = listener.getsockname()[1]
        self._accepting = asyncio.create_task(self._accept(listener, context))
        return self.port

    async def _accept(self, listener: socket.socket, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        while True:
            connection, peer = await loop.sock_accept(listener)
            task = asyncio.create_task(self._serve(connection, peer, context))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)

    async def _serve(
        self, connection: socket.socket, peer: tuple[str, int], context: ssl.SSLContext
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            record = await asyncio.wait_for(_peek_record(connection), _HELLO_TIMEOUT)
            self._fingerprints.remember((peer[0], peer[1]), ja4(record))
            await loop.connect_accepted_socket(self._server, connection, ssl=context)
        except (ClientHelloError, TimeoutError, OSError, ssl.SSLError):
            connection.close()
        except asyncio.CancelledError:
            # Closing down before the handshake: nobody else will close this socket.
            connection.close()
            raise

    async def close(self) -> None:
        for task in [self._accepting, *self._handshakes]:
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in [self._accepting, *self._handshakes] if t), return_exceptions=True
        )
        if self._socket is not None:
            self._socket.close()
        if self._folder is not None:
            self._folder.cleanup()


async def _peek_record(connection: socket.socket) -> bytes:
    """The first TLS record, peeked: still unread in the socket when this returns."""
    loop = asyncio.get_running_loop()
    while True:
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(connection, _settle, ready)
        try:
            await ready
        finally:
            loop.remove_reader(connection)
        data = connection.recv(_MAX_RECORD, socket.MSG_PEEK)
        if not data:
            raise ClientHelloError("closed before its ClientHello")
        length = record_length(data)
        if length is not None and len(data) >= length:
            return data[:length]
        # Part of the record is in: the socket stays readable, so wait a little, not a spin.
        await asyncio.sleep(0.005)


def _settle(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)
