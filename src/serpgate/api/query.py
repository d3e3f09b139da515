"""The query string as serpgate reads it: each name once, no control characters.

Starlette hands a route the last value of a repeated name, so ``api_key=a&api_key=b`` or
``q=x&q=y`` would silently answer for one of them. A repeated name is a 400 naming it instead,
and so is a value carrying control characters (NUL and the C0 range), which no search needs and
which logs and upstream URLs must never carry. Values are never echoed back in these errors.
"""

from __future__ import annotations

import re

from fastapi import Request

from serpgate.errors import InvalidRequest

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Names are short; one that is not is shown cut, never whole.
_SHOWN = 64


def single_query(request: Request) -> dict[str, str]:
    """The query parameters as one value per name; a 400 for a repeated name or control chars.

    Read once per request and kept on it: the key check and the route's parameters both need it.
    """
    cached: dict[str, str] | None = getattr(request.state, "single_query", None)
    if cached is not None:
        return cached
    query: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in query:
            raise InvalidRequest(f"parameter {name[:_SHOWN]!r} is given more than once")
        if _CONTROL.search(name) or _CONTROL.search(value):
            raise InvalidRequest(f"parameter {name[:_SHOWN]!r} contains control characters")
        query[name] = value
    request.state.single_query = query
    return query
