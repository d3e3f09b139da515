"""``AutoPipeline``: one Redis connection on which every command issued in one loop turn goes out
in one write, for the calls a cache hit makes.

redis-py spends ~120 µs of client CPU per call at 64 concurrent callers (pool checkout, a
connection per caller, a timer per call from ``asyncio.timeout``, a write and a read per command);
a hit's rate-limit script was the largest single cost of a cache hit. Here a call encodes its
command into a buffer, and one callback per loop turn writes the whole buffer; Redis answers in
order, so replies are matched to the callers' futures first in, first out (RESP2, parsed
incrementally: replies split across reads and many replies per read both cost linear time).

Faults: an error reply fails its own call (``ResponseError``, ``NoScriptError`` for NOSCRIPT). A
lost connection fails every pending call (``ConnectionError``) and the next call reconnects;
connecting is single-flight, so a burst shares one connect. Every call has a deadline (its
``budget``, else the connection's ``timeout``). Replies come in order, so a late one holds up
every call behind it, and the connection is then taken as stuck: when any pending call outlives
its deadline, every pending call fails (``TimeoutError``) and the connection is dropped. One timer
per connection watches the deadlines, armed only while replies are pending, not one per call.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Arg = bytes | str | int | float
# A reply: bytes (bulk and simple strings), int, None (nil), a list of replies, or the
# ResponseError an array element carried.
Reply = Any

_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


@dataclass(frozen=True, slots=True)
class RedisAddress:
    """Where and as whom to connect, from a ``redis://``, ``rediss://`` or ``unix://`` URL."""

    host: str = "localhost"
    port: int = 6379
    path: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        parts = parse_url(url)
        context = None
        if parts.get("connection_class") is SSLConnection:
            cafile = parts.get("ssl_ca_certs")
            context = ssl.create_default_context(cafile=None if cafile is None else str(cafile))
            reqs = _CERT_REQS[str(parts.get("ssl_cert_reqs", "required")).lower()]
            if reqs != ssl.CERT_REQUIRED:
                context.check_hostname = False
            context.verify_mode = reqs
        return cls(
            host=parts.get("host", "localhost"),
            port=parts.get("port", 6379),
            path=parts.get("path"),
            db=int(parts.get("db", 0)),
            username=parts.get("username"),
            password=parts.get("password"),
            tls=context,
        )


def encode(args: tuple[Arg, ...]) -> bytes:
    """One command in RESP: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int):
            data = b"%d" % arg
        else:
            data = repr(arg).encode()
        parts += (b"$%d\r\n" % len(data), data, b"\r\n")
    return b"".join(parts)


def _error(message: str) -> ResponseError:
    return NoScriptError(message) if message.startswith("NOSCRIPT") else ResponseError(message)


class RespProtocol(asyncio.Protocol):
    """One connection: commands buffered until the loop turn ends, replies handed out in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.writes = 0  # how many writes went to the socket (for tests and diagnostics)
        self._out: list[bytes] = []
        self._pending: deque[tuple[asyncio.Future[Reply], float]] = deque()
        self._buf = bytearray()
        # Arrays still being read: [elements still to come, elements so far].
        self._stack: list[tuple[list[int], list[Reply]]] = []
        self._watchdog: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to redis lost: {exc or 'closed'}"))

    def send(self, command: bytes, deadline: float) -> asyncio.Future[Reply]:
        if self.closed:
            raise RedisConnectionError("connection to redis is closed")
        future = self.loop.create_future()
        if not self._out:
            self.loop.call_soon(self._flush)
        self._out.append(command)
        self._pending.append((future, deadline))
        watchdog = self._watchdog
        if watchdog is None:
            self._watchdog = self.loop.call_at(deadline, self._watch)
        elif deadline < watchdog.when():  # only where callers mix timeouts
            watchdog.cancel()
            self._watchdog = self.loop.call_at(deadline, self._watch)
        return future

    def _flush(self) -> None:
        if self._out and not self.closed and self.transport is not None:
            self.transport.write(b"".join(self._out))
            self.writes += 1
        self._out.clear()

    def _watch(self) -> None:
        self._watchdog = None
        if not self._pending:
            return
        now = self.loop.time()
        first = min(deadline for _, deadline in self._pending)
        if first <= now:
            self._fail(RedisTimeoutError("redis did not answer in time"))
        else:
            self._watchdog = self.loop.call_at(first, self._watch)

    def close(self) -> None:
        self._fail(RedisConnectionError("connection to redis closed"))

    def _fail(self, exc: Exception) -> None:
        """Fail every pending call and drop the connection; the owner connects anew."""
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._out.clear()
        while self._pending:
            future, _ = self._pending.popleft()
            if not future.done():
                future.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self._buf += data
        try:
            self._parse()
        except (ValueError, IndexError) as exc:
            self._fail(RedisConnectionError(f"unreadable reply from redis: {exc}"))

    def _parse(self) -> None:  # noqa: C901 - one loop over the RESP types reads best whole
        buf, stack = self._buf, self._stack
        size = len(buf)
        pos = 0
        value: Reply
        while pos < size:
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            kind = buf[pos]
            if kind == 36:  # $ bulk string
                length = int(buf[pos + 1 : end])
                if length < 0:
                    value = None
                else:
                    stop = end + 2 + length
                    if stop + 2 > size:
                        break  # the rest of the value is still on its way
                    value = bytes(buf[end + 2 : stop])
                    end = stop
            elif kind == 58:  # : integer
                value = int(buf[pos + 1 : end])
            elif kind == 42:  # * array
                count = int(buf[pos + 1 : end])
                if count > 0:
                    stack.append(([count], []))
                    pos = end + 2
                    continue
                value = None if count < 0 else []
            elif kind == 43:  # + simple string
                value = bytes(buf[pos + 1 : end])
            elif kind == 45:  # - error
                value = _error(buf[pos + 1 : end].decode(errors="replace"))
            else:
                raise ValueError(f"unknown reply type {chr(kind)!r}")
            pos = end + 2
            while stack:
                left, items = stack[-1]
                items.append(value)
                left[0] -= 1
                if left[0]:
                    break
                stack.pop()
                value = items
            else:
                self._deliver(value)
        if pos:
            del buf[:pos]

    def _deliver(self, value: Reply) -> None:
        if not self._pending:
            raise ValueError("a reply nobody asked for")
        future, _ = self._pending.popleft()
        if future.done():  # its caller was cancelled; the reply is dropped
            return
        if isinstance(value, ResponseError):
            future.set_exception(value)
        else:
            future.set_result(value)


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script, run by its digest (``AutoPipeline.run``)."""

    text: str
    sha: str

    @classmethod
    def of(cls, text: str) -> Script:
        return cls(text, hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest())


class AutoPipeline:
    """Commands to one Redis, pipelined automatically; connects on first use, on the running loop.

    ``timeout`` bounds connecting and, unless a call gives its own, how long a reply may take.
    """

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.address = RedisAddress.from_url(url)
        self.timeout = timeout
        self._protocol: RespProtocol | None = None
        self._connecting: asyncio.Task[RespProtocol] | None = None
        self._closed = False

    @property
    def protocol(self) -> RespProtocol | None:
        """The live connection, if there is one."""
        protocol = self._protocol
        return None if protocol is None or protocol.closed else protocol

    async def execute(self, *args: Arg, budget: float | None = None) -> Reply:
        """Send one command and wait for its reply, for at most ``budget`` seconds (else the
        connection's ``timeout``); raises redis-py's exceptions."""
        return await self._reply(args, budget)

    async def run(
        self, script: Script, keys: Sequence[str], args: Sequence[Arg], budget: float | None = None
    ) -> Reply:
        """``script`` by EVALSHA; by EVAL when Redis answers NOSCRIPT (after a restart or a
        ``SCRIPT FLUSH``), which also loads it for the next call."""
        try:
            return await self._reply(("EVALSHA", script.sha, len(keys), *keys, *args), budget)
        except NoScriptError:
            return await self._reply(("EVAL", script.text, len(keys), *keys, *args), budget)

    def _reply(self, args: tuple[Arg, ...], budget: float | None) -> Awaitable[Reply]:
        """The reply to one command: on a connection already open, the future itself, with no
        coroutine around it (each one on the way costs a cache hit when Redis answers)."""
        budget = self.timeout if budget is None else budget
        protocol = self._protocol
        if protocol is None or protocol.closed:
            return self._connect_and_send(args, budget)
        return protocol.send(encode(args), protocol.loop.time() + budget)

    async def _connect_and_send(self, args: tuple[Arg, ...], budget: float) -> Reply:
        protocol = await self._connected(budget)
        return await protocol.send(encode(args), protocol.loop.time() + budget)

    async def _connected(self, budget: float) -> RespProtocol:
        if self._closed:
            raise RedisConnectionError("the store is closed")
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_task(self._connect())
            self._connecting.add_done_callback(self._connect_done)
        try:
            async with asyncio.timeout(budget):
                return await asyncio.shield(self._connecting)
        except TimeoutError as exc:
            raise RedisTimeoutError("connecting to redis timed out") from exc

    def _connect_done(self, task: asyncio.Task[RespProtocol]) -> None:
        self._connecting = None
        if not task.cancelled() and task.exception() is None:
            self._protocol = task.result()

    async def _connect(self) -> RespProtocol:
        loop = asyncio.get_running_loop()
        address = self.address
        try:
            async with asyncio.timeout(self.timeout):
                if address.path is not None:
                    _, protocol = await loop.create_unix_connection(
                        lambda: RespProtocol(loop), address.path
                    )
                else:
                    _, protocol = await loop.create_connection(
                        lambda: RespProtocol(loop), address.host, address.port, ssl=address.tls
                    )
                deadline = loop.time() + self.timeout
                hello = []
                if address.password is not None:
                    credentials = (
                        (address.username, address.password)
                        if address.username
                        else (address.password,)
                    )
                    hello.append(protocol.send(encode(("AUTH", *credentials)), deadline))
                if address.db:
                    hello.append(protocol.send(encode(("SELECT", address.db)), deadline))
                try:
                    await asyncio.gather(*hello)
                except BaseException:
                    protocol.close()
                    raise
        except TimeoutError as exc:
            raise RedisTimeoutError("connecting to redis timed out") from exc
        except OSError as exc:
            raise RedisConnectionError(f"cannot connect to redis: {exc}") from exc
        if self._closed:
            protocol.close()
            raise RedisConnectionError("the store is closed")
        return protocol

    async def close(self) -> None:
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None
