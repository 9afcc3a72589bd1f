"""Persisted operations: clients send a hash instead of the document.

Automatic persisted queries (the ``extensions.persistedQuery.sha256Hash`` protocol): a hash the
server has not seen gives ``PERSISTED_QUERY_NOT_FOUND`` and the client resends it with the
document, which is checked against the hash and remembered. With an allow-list, only the
listed operations run, whether sent by hash or in full.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_ALLOWED = "OPERATION_NOT_ALLOWED"
INVALID = "PERSISTED_QUERY_INVALID"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


class OperationStore:
    """Documents by hash: an optional fixed allow-list plus a bounded cache of learned ones."""

    def __init__(self, allow_list: Mapping[str, str] | None = None, capacity: int = 2048) -> None:
        self.allow_list = dict(allow_list) if allow_list is not None else None
        self.learned: OrderedDict[str, str] = OrderedDict()
        self.capacity = capacity

    @classmethod
    def from_file(cls, path: Path) -> OperationStore:
        """A JSON object of ``{sha256: document}`` or a list of documents."""
        data = json.loads(path.read_text(encoding="utf-8"))
        documents = data.values() if isinstance(data, dict) else data
        return cls({sha256(d): d for d in documents})

    @property
    def only_allowed(self) -> bool:
        return self.allow_list is not None

    def get(self, digest: str) -> str | None:
        if self.allow_list is not None:
            return self.allow_list.get(digest)
        found = self.learned.get(digest)
        if found is not None:
            self.learned.move_to_end(digest)
        return found

    def learn(self, digest: str, document: str) -> None:
        if self.allow_list is not None:
            return
        self.learned[digest] = document
        self.learned.move_to_end(digest)
        while len(self.learned) > self.capacity:
            self.learned.popitem(last=False)


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def persisted_operations(store: OperationStore) -> type[SchemaExtension]:
    class PersistedOperations(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            context = self.execution_context
            extensions: dict[str, Any] = context.operation_extensions or {}
            persisted = extensions.get("persistedQuery")
            if isinstance(persisted, dict):
                digest = persisted.get("sha256Hash")
                if not isinstance(digest, str) or len(digest) != 64:
                    raise _error("persistedQuery.sha256Hash must be a SHA-256 hex digest.", INVALID)
                if context.query:
                    if sha256(context.query) != digest:
                        raise _error("The document does not match its hash.", INVALID)
                    if store.only_allowed and store.get(digest) is None:
                        raise _error("This operation is not on the allow-list.", NOT_ALLOWED)
                    store.learn(digest, context.query)
                else:
                    found = store.get(digest)
                    if found is None:
                        code = NOT_ALLOWED if store.only_allowed else NOT_FOUND
                        raise _error("PersistedQueryNotFound", code)
                    context.query = found
            elif store.only_allowed and (
                not context.query or store.get(sha256(context.query)) is None
            ):
                raise _error("Only allow-listed operations are accepted.", NOT_ALLOWED)
            yield

    return PersistedOperations
