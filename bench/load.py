"""A small concurrent load generator: keep-alive HTTP/1.1 over loopback, one connection per
simulated client.

Written on bare asyncio streams rather than an HTTP client library so that the generator,
which shares the machine's two cores with the server, spends as little CPU per request as
possible and every latency it records is the server's plus one loopback round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class LoadError(RuntimeError):
    """The server answered something a benchmark must not count as a success."""


@dataclass
class Connection:
    host: str
    port: int
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """One request and its response, on the kept-alive connection."""
        if self.writer is None or self.reader is None:
            await self.open()
        assert self.writer is not None and self.reader is not None
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
        self.writer.write("\r\n".join(head).encode("latin-1") + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise LoadError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = -1
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length < 0:
            raise LoadError("a response without Content-Length")
        return status, await self.reader.readexactly(length)


@dataclass
class Sample:
    """Latencies (seconds) of the requests of one measurement, and how long it took."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
        return ordered[index]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        return self.percentile(0.99) * 1000

    @property
    def per_second(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0


Check = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Request:
    path: str
    payload: dict[str, Any]
    headers: dict[str, str]
    check: Check | None = None  # replaces ``drive``'s check for this request


RequestFactory = Callable[[int, int], Request]


def graphql_ok(body: dict[str, Any]) -> None:
    """A GraphQL response counts only when it carries data and no error."""
    if body.get("errors"):
        raise LoadError(f"GraphQL errors: {body['errors']}")
    if not body.get("data"):
        raise LoadError(f"no data: {body}")


async def drive(
    host: str,
    port: int,
    make_request: RequestFactory,
    *,
    clients: int,
    requests: int | None = None,
    seconds: float | None = None,
    check: Check = graphql_ok,
) -> Sample:
    """Run ``clients`` concurrent clients until ``requests`` are done or ``seconds`` pass.

    ``make_request(client, n)`` gives a client's n-th request; a writer's factory may use
    what its previous write returned, which that request's own ``check`` recorded.
    """
    if (requests is None) == (seconds is None):
        raise ValueError("give either requests or seconds")
    sample = Sample()
    issued = 0
    deadline = time.perf_counter() + seconds if seconds is not None else None

    def more() -> bool:
        nonlocal issued
        if deadline is not None:
            return time.perf_counter() < deadline
        assert requests is not None
        if issued >= requests:
            return False
        issued += 1
        return True

    async def client(number: int) -> None:
        connection = Connection(host, port)
        try:
            n = 0
            while more():
                request = make_request(number, n)
                data = json.dumps(request.payload).encode()
                started = time.perf_counter()
                status, raw = await connection.post(request.path, data, request.headers)
                sample.latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise LoadError(f"HTTP {status}: {raw[:300]!r}")
                (request.check or check)(json.loads(raw))
                n += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(number) for number in range(clients)))
    sample.elapsed = time.perf_counter() - started
    return sample


async def post_once(
    host: str, port: int, path: str, payload: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """A single request outside any measurement (set-up, statement counts, comparisons)."""
    connection = Connection(host, port)
    try:
        status, raw = await connection.post(path, json.dumps(payload).encode(), headers)
    finally:
        await connection.close()
    if status != 200:
        raise LoadError(f"HTTP {status} from {path}: {raw[:300]!r}")
    body: dict[str, Any] = json.loads(raw)
    return body
