"""Where the compiled path joins an operation: after parsing, validation and the limits,
in place of the resolvers, for the requests whose context allows it (HTTP requests)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from compiled.plan import PlanCache, run_plan
from compiled.selection import NotCompilable
from core.context import RequestContext
from core.errors import database_unavailable

log = logging.getLogger("riverchief.compiled")

COMPILED = "compiled"
PLANS = PlanCache()


class CompiledExecution(SchemaExtension):
    """Answers the operation from its plan when it has one; otherwise (or if its arguments
    are ones the resolvers refuse, or the plan fails) leaves it to the resolvers."""

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context = ec.context
        if (
            isinstance(context, RequestContext)
            and context.compiled_reads
            and ec.graphql_document is not None
            and ec.query is not None
            and ec.result is None
        ):
            plan = PLANS.plan(ec.query, ec.graphql_document, ec.operation_name, context)
            if plan is not None:
                try:
                    data = await run_plan(plan, ec.schema, ec.variables, context)
                except NotCompilable:
                    pass
                except Exception as error:  # the resolvers still answer
                    if database_unavailable(error):  # as SERVICE_UNAVAILABLE, like any request
                        log.debug("database unavailable request=%s", context.request_id)
                    else:  # a plan's own fault
                        log.exception("compiled plan failed request=%s", context.request_id)
                else:
                    ec.result = ExecutionResult(data=data, errors=None)
                    context.executor = COMPILED
        yield
