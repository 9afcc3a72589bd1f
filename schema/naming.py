"""The graph's spelling of names stored in snake_case."""

from __future__ import annotations


def camel(name: str) -> str:
    """``garbage_kg`` → ``garbageKg``; a name without underscores stays as it is."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
