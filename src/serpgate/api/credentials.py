"""Reading a bearer token from a request, in one place for every route that takes one.

API keys, the admin key and the metrics token all travel as ``Authorization: Bearer <token>``;
one reader means one rule for the scheme's case and the white space around the token.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection


def bearer_token(request: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None when there is none."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    token = credentials.strip()
    return token if scheme.lower() == "bearer" and token else None
