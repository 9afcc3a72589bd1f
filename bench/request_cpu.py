"""Q1's cost in the service's own CPU time, which a busy machine distorts far less than a rate.

``python -m bench.request_cpu --database-url URL [--rounds 3] [--seconds 5]`` starts the
service and the floor as ``bench.run`` does, drives Q1 with 16 clients, and reads each
process's CPU time (``/proc``, user and system) around every round: CPU per request and
requests per second, the median over the rounds, with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
from collections.abc import Callable
from pathlib import Path

from bench import queries
from bench.load import Request, drive, post_once
from bench.run import floor_request, graphql, login
from bench.servers import Process, floor, service
from schema.node import from_global_id

CLIENTS = 16
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(process: Process) -> float:
    """User and system time of the process and its children (a worker, if any)."""
    pids = [process.popen.pid]
    children = Path(f"/proc/{process.popen.pid}/task/{process.popen.pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


async def rounds_of(
    process: Process, make: Callable[[int, int], Request], rounds: int, seconds: float
) -> list[tuple[float, float]]:
    """(requests per second, CPU microseconds per request) for each round."""
    await drive("127.0.0.1", process.port, make, clients=CLIENTS, seconds=1.0)  # warm-up
    found = []
    for _ in range(rounds):
        before = cpu_seconds(process)
        sample = await drive("127.0.0.1", process.port, make, clients=CLIENTS, seconds=seconds)
        spent = cpu_seconds(process) - before
        found.append((sample.per_second, 1e6 * spent / sample.count))
    return found


async def measure(url: str, rounds: int, seconds: float) -> None:
    with service(url) as server, floor(url) as floor_process:
        token = await login(server, "bench_township")
        user_id = await user_id_of(server, token)
        results = {
            "service": await rounds_of(
                server, lambda c, n: graphql(queries.ME, token), rounds, seconds
            ),
            "floor": await rounds_of(
                floor_process,
                lambda c, n: floor_request("Q1", {"userId": user_id}),
                rounds,
                seconds,
            ),
        }
    for name, found in results.items():
        rate = statistics.median(r for r, _ in found)
        cpu = statistics.median(c for _, c in found)
        print(f"{name:8} {rate:7.0f} requests/s  {cpu:6.0f} µs CPU a request  (rounds: {found})")
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


async def user_id_of(server: Process, token: str) -> int:
    request = graphql(queries.ME, token)
    body = await post_once("127.0.0.1", server.port, request.path, request.payload, request.headers)
    return int(from_global_id(body["data"]["me"]["id"])[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a database holding bench-data")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    options = parser.parse_args()
    asyncio.run(measure(options.database_url, options.rounds, options.seconds))


if __name__ == "__main__":
    main()
