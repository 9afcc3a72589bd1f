"""The Schema object."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from schema.mutation import Mutation
from schema.org import OrgUnit
from schema.people import Person, User
from schema.query import Query
from schema.task import Task

log = logging.getLogger("riverchief.graphql")


def is_expected(error: GraphQLError) -> bool:
    """Errors raised on purpose (auth, validation, bad arguments), not bugs."""
    return error.original_error is None or isinstance(error.original_error, GraphQLError)


class RiverchiefSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if not is_expected(error):
                log.error("unexpected error", exc_info=error.original_error)


def build_schema(**kwargs: Any) -> RiverchiefSchema:
    return RiverchiefSchema(
        query=Query, mutation=Mutation, types=[OrgUnit, Task, Person, User], **kwargs
    )


schema = build_schema()
