"""The graph's spelling of stored names and keys, kept at the bottom layer so that what is
stored for the graph to show (``models.record_shown``) and the schema spell them alike."""

from __future__ import annotations

import base64


def camel(name: str) -> str:
    """``garbage_kg`` → ``garbageKg``; a name without underscores stays as it is."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def global_id(type_name: str, pk: int | str) -> str:
    """The opaque ID of object ``pk`` of ``type_name``: base64url of ``Type:pk``."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()
