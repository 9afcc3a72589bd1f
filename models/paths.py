"""Materialized-path arithmetic.

A unit's path lists the ids from its root down to itself, e.g. ``/1/5/23/``. A subtree is
then the half-open range ``[path, upper_bound(path))``: every descendant's path starts with
the prefix, and ``'0'`` is the character right after ``'/'``. A range uses the ordinary
B-tree index on SQLite and PostgreSQL, where ``LIKE 'prefix%'`` does not.
"""


def child_path(parent_path: str | None, unit_id: int) -> str:
    return f"{parent_path or '/'}{unit_id}/"


def upper_bound(prefix: str) -> str:
    """The smallest string greater than every string that starts with ``prefix``."""
    if not prefix.endswith("/"):
        raise ValueError(f"not a materialized path: {prefix!r}")
    return prefix[:-1] + "0"


def path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def is_within(path: str, prefix: str) -> bool:
    return path.startswith(prefix)
