"""How long the demo takes to load into an empty SQLite database (``serve --demo``'s wait).

``python -m bench.demo_load [--runs N]`` prints each run and the median, with the load
average it ran under. The figure belongs here, not in a timed test: on a busy machine it
drifts two to three times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from tortoise.context import tortoise_test_context

from demo.loader import load_demo
from models import MODEL_MODULES
from policies.engine import PolicyEngine


async def _one(directory: Path, run: int) -> float:
    url = f"sqlite://{directory / f'demo-{run}.sqlite3'}"
    async with tortoise_test_context(MODEL_MODULES, db_url=url):
        await PolicyEngine().seed_if_empty()
        started = time.perf_counter()
        assert await load_demo()
        return time.perf_counter() - started


async def measure(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        return [await _one(Path(directory), run) for run in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="loads to time (default 5)")
    runs = parser.parse_args().runs
    took = asyncio.run(measure(runs))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print("runs (s):", ", ".join(f"{t:.2f}" for t in took))
    print(f"median {statistics.median(took):.2f} s over {runs} runs; load average {load}")


if __name__ == "__main__":
    main()
