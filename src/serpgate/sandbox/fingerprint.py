"""JA4 fingerprints of TLS ClientHellos, and the sandbox's judgement of which ones are browsers.

JA4 (FoxIO, 2023) names a ClientHello by what a client library cannot easily change:
``t13d1517h2_8daaf6152771_cb7bf5808d99`` is TCP, TLS 1.3, an SNI (``d``), 15 ciphers, 17
extensions and ALPN ``h2``; then the first 12 hex digits of the SHA-256 of the sorted cipher
list, and of the sorted extension list (less SNI and ALPN) joined to the signature algorithms in
their order. GREASE values (RFC 8701) are left out everywhere, since browsers randomise them.

A browser is judged by the cipher list's hash, which stays put across a browser's versions
(the extension part moves with every new extension), and by offering HTTP/2: Python's ``ssl``
(aiohttp) offers another cipher list and ALPN ``http/1.1`` at most, so it is refused, while
curl_cffi impersonating Chrome sends Chrome's ClientHello byte for byte and passes.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

# The cipher-list hashes (JA4's middle part) of current browsers' ClientHellos.
BROWSER_CIPHER_HASHES = frozenset(
    {
        "8daaf6152771",  # Chrome, Edge, Opera, Brave: every Chromium since 2023
        "5b57614c22b0",  # Firefox
        "a09f3c656075",  # Safari
    }
)
_TLS_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}
_SNI, _ALPN, _SIGNATURE_ALGORITHMS, _SUPPORTED_VERSIONS = 0x0000, 0x0010, 0x000D, 0x002B
# Connections remembered at once; the oldest are forgotten first (their clients are long gone).
_REMEMBERED = 4096


def _grease(value: int) -> bool:
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


class ClientHelloError(ValueError):
    """The bytes are not (the start of) a TLS ClientHello."""


@dataclass(frozen=True, slots=True)
class Ja4:
    fingerprint: str
    alpn: str

    @property
    def cipher_hash(self) -> str:
        return self.fingerprint.split("_")[1]

    @property
    def browser_like(self) -> bool:
        return self.alpn == "h2" and self.cipher_hash in BROWSER_CIPHER_HASHES


def record_length(head: bytes) -> int | None:
    """The whole first TLS record's length from its 5-byte header; None until 5 bytes are in."""
    if len(head) < 5:
        return None
    if head[0] != 0x16:
        raise ClientHelloError("not a TLS handshake record")
    return 5 + int.from_bytes(head[3:5], "big")


def _u16_list(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)]


def ja4(record: bytes) -> Ja4:
    """The JA4 of the ClientHello in ``record`` (one TLS record, header included)."""
    try:
        return _ja4(record)
    except (IndexError, ValueError) as exc:
        raise ClientHelloError(f"malformed ClientHello: {exc}") from exc


def _ja4(record: bytes) -> Ja4:
    if record[0] != 0x16 or record[5] != 0x01:
        raise ClientHelloError("not a ClientHello")
    body = record[9:]
    version = int.from_bytes(body[0:2], "big")
    at = 2 + 32
    at += 1 + body[at]  # session id
    cipher_bytes = int.from_bytes(body[at : at + 2], "big")
    ciphers = [c for c in _u16_list(body[at + 2 : at + 2 + cipher_bytes]) if not _grease(c)]
    at += 2 + cipher_bytes
    at += 1 + body[at]  # compression methods
    end = at + 2 + int.from_bytes(body[at : at + 2], "big")
    at += 2
    extensions: list[int] = []
    alpn, signatures, sni = "", [], False
    while at + 4 <= end:
        kind = int.from_bytes(body[at : at + 2], "big")
        size = int.from_bytes(body[at + 2 : at + 4], "big")
        data = body[at + 4 : at + 4 + size]
        at += 4 + size
        if _grease(kind):
            continue
        extensions.append(kind)
        if kind == _SNI:
            sni = True
        elif kind == _ALPN and len(data) > 3:
            alpn = data[3 : 3 + data[2]].decode("latin-1")
        elif kind == _SIGNATURE_ALGORITHMS:
            signatures = _u16_list(data[2 : 2 + int.from_bytes(data[0:2], "big")])
        elif kind == _SUPPORTED_VERSIONS:
            offered = [v for v in _u16_list(data[1 : 1 + data[0]]) if not _grease(v)]
            version = max(offered, default=version)
    alpn_code = f"{alpn[0]}{alpn[-1]}" if alpn else "00"
    head = (
        f"t{_TLS_VERSIONS.get(version, '00')}{'d' if sni else 'i'}"
        f"{min(len(ciphers), 99):02d}{min(len(extensions), 99):02d}{alpn_code}"
    )
    cipher_part = _hash(",".join(f"{c:04x}" for c in sorted(ciphers)))
    listed = ",".join(f"{e:04x}" for e in sorted(e for e in extensions if e not in (_SNI, _ALPN)))
    if signatures:
        listed += "_" + ",".join(f"{s:04x}" for s in signatures)
    return Ja4(f"{head}_{cipher_part}_{_hash(listed)}", alpn)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "000000000000"


class Fingerprints:
    """What the HTTPS listener read off each live connection, looked up by the client's address
    and port (the request handler sees the decrypted stream only)."""

    def __init__(self) -> None:
        self._by_peer: OrderedDict[tuple[str, int], Ja4] = OrderedDict()

    def remember(self, peer: tuple[str, int], fingerprint: Ja4) -> None:
        # A port reused by a later connection overwrites the earlier one's, which is gone.
        self._by_peer[peer] = fingerprint
        self._by_peer.move_to_end(peer)
        while len(self._by_peer) > _REMEMBERED:
            self._by_peer.popitem(last=False)

    def of(self, request: web.Request) -> Ja4 | None:
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        return self._by_peer.get(tuple(peer[:2])) if peer else None

    def browser_like(self, request: web.Request) -> bool:
        """False for a TLS client that is not a browser; plain HTTP has no ClientHello to judge
        (only the sandbox speaks it) and passes."""
        found = self.of(request)
        return found is None or found.browser_like
