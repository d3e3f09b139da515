"""The ``Serpgate-Signature`` header, in Stripe's scheme: ``t=<unix time>,v1=<hex HMAC-SHA256>``.

The MAC covers ``"<t>.<body>"`` with the tenant's webhook secret, so a receiver that checks it
knows the body came from this service unaltered, and one that also bounds the age of ``t`` refuses
a captured delivery replayed later. ``verify`` is what docs/webhooks.md tells receivers to do.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Serpgate-Signature"
SCHEME = "v1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: float = 300) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` s old."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get(SCHEME, []))
