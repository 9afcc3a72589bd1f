"""Refuse text no database can store: NUL characters and unpaired surrogates.

PostgreSQL rejects NUL in text, and no driver can encode a lone surrogate (which JSON's
``"\\ud800"`` escape carries into a variable). Either one used to reach the driver and fail
there as an internal error. This extension refuses them before anything runs, wherever they
are: in the document's text, in a variable at any depth, or in a string literal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import BREAK, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from core.errors import ErrorCode

MESSAGE = "Text may not contain NUL characters or unpaired surrogates."


def unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _any_unstorable(value: Any) -> bool:
    """Walks without recursion: a variable can be nested as deeply as its JSON."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if unstorable(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if unstorable(node.value):
            self.found = True
            return BREAK
        return None


def _refused() -> GraphQLError:
    return GraphQLError(MESSAGE, extensions={"code": ErrorCode.VALIDATION.value})


class SafeText(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        if _any_unstorable(context.query or "") or _any_unstorable(context.variables):
            raise _refused()
        yield

    def on_execute(self) -> Iterator[None]:
        """A literal's value holds what its text holds, or what an escape (``\\u0000``,
        ``\\ud800``) makes: a text that is storable and has no ``\\u`` needs no visit. The text
        is checked again here: a persisted operation's was looked up after ``on_operation``."""
        document = self.execution_context.graphql_document
        query = self.execution_context.query
        if document is not None and (query is None or "\\u" in query or unstorable(query)):
            literals = _Literals()
            visit(document, literals)
            if literals.found:
                raise _refused()
        yield
