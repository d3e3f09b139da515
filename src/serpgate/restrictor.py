"""``JsonRestrictor``: SerpApi's ``json_restrictor``, the fields a client wants and no others.

The syntax is SerpApi's: comma-separated paths of dot-separated names; a list is entered with
``[]`` (every element), ``[2]`` (one) or ``[0:3]`` (a slice); braces pick several fields at one
level. ``organic_results[].{title,link}`` keeps each organic result's title and link,
``search_metadata.id, organic_results[0:3].title`` the id and the first three titles. The answer
keeps the document's shape (a selected list stays a list, one element included), and paths that
name nothing present are left out, as SerpApi leaves them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z0-9_]+)|(?P<number>-?[0-9]+)|(?P<mark>[.,{}\[\]:]))")


@dataclass(slots=True)
class _Field:
    """What to keep of one field: a part of it (``inner``) or all of it, through an index."""

    index: slice | int | None = None
    inner: dict[str, _Field] | None = None
    whole: bool = False


@dataclass(slots=True)
class _Parser:
    tokens: list[str]
    position: int = 0
    selection: dict[str, _Field] = field(default_factory=dict)

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            wanted = f"{expected!r}" if expected else "more"
            raise ValueError(f"expected {wanted} at token {self.position + 1}")
        self.position += 1
        return token

    def paths(self, into: dict[str, _Field]) -> None:
        self.path(into)
        while self.peek() == ",":
            self.take(",")
            self.path(into)

    def path(self, into: dict[str, _Field]) -> None:
        if self.peek() == "{":
            self.take("{")
            self.paths(into)
            self.take("}")
            return
        name = self.take()
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValueError(f"expected a field name, found {name!r}")
        node = into.setdefault(name, _Field())
        if self.peek() == "[":
            node.index = self.index()
        if self.peek() == ".":
            self.take(".")
            if node.inner is None:
                node.inner = {}
            self.path(node.inner)
        else:
            node.whole = True

    def index(self) -> slice | int:
        self.take("[")
        numbers: list[int | None] = [None]
        while (part := self.take()) != "]":
            if part == ":":
                numbers.append(None)
            elif re.fullmatch(r"-?[0-9]+", part) and numbers[-1] is None:
                numbers[-1] = int(part)
            else:
                raise ValueError(f"unexpected {part!r} in an index")
        if len(numbers) == 1:
            return slice(None) if numbers[0] is None else numbers[0]
        if len(numbers) == 2:
            return slice(numbers[0], numbers[1])
        raise ValueError("an index is [], [n] or [from:to]")


class JsonRestrictor:
    """A parsed ``json_restrictor``; ``ValueError`` for an expression it cannot read."""

    def __init__(self, expression: str) -> None:
        tokens: list[str] = []
        position = 0
        expression = expression.strip()
        while position < len(expression):
            match = _TOKEN.match(expression, position)
            if match is None or match.end() == position:
                raise ValueError(f"unexpected character at position {position + 1}")
            tokens.append(match.group(match.lastgroup or "mark"))
            position = match.end()
        parser = _Parser(tokens)
        parser.paths(parser.selection)
        if parser.peek() is not None:
            raise ValueError(f"unexpected {parser.peek()!r} at token {parser.position + 1}")
        self._selection = parser.selection

    def apply(self, document: dict[str, object]) -> dict[str, object]:
        return _pick(document, self._selection)


def _pick(document: dict[str, object], selection: dict[str, _Field]) -> dict[str, object]:
    kept: dict[str, object] = {}
    for name, wanted in selection.items():
        if name in document:
            value = _narrow(document[name], wanted)
            if value is not None:
                kept[name] = value
    return kept


def _narrow(value: object, wanted: _Field) -> object:
    if wanted.index is not None:
        if not isinstance(value, list):
            return None
        # One element stays a list of one (or none), so the answer keeps the document's shape.
        index = wanted.index
        chosen = value[index] if isinstance(index, slice) else value[index:][:1]
        items = [_narrow(item, _Field(inner=wanted.inner, whole=wanted.whole)) for item in chosen]
        return [item for item in items if item is not None]
    if wanted.whole or wanted.inner is None:
        return value
    if isinstance(value, dict):
        return _pick(value, wanted.inner) or None
    if isinstance(value, list):
        items = [_narrow(item, wanted) for item in value]
        return [item for item in items if item is not None] or None
    return None
