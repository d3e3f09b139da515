"""Google web search: the engine, and one reader per kind of page Google answers."""

from serpgate.engines.google.engine import GoogleEngine

__all__ = ["GoogleEngine"]
