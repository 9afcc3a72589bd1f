"""A PostgreSQL server of a test's own: stopped and started mid-test without disturbing the
server the rest of the suite runs on.

``initdb`` into a fresh directory, served on a free port from the machine's PostgreSQL
binaries. PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory, if there is one."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int
    owner: str | None  # the user it runs as, when started by root

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/riverchief"

    def _run(self, *command: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data.parent}"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.data.parent / "postgres.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` stops it as a crash would: no checkpoint, recovery on next start."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A running cluster with an empty ``riverchief`` database; removed afterwards."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql")
    owner = "postgres" if os.geteuid() == 0 else None
    home = Path(tempfile.mkdtemp(prefix="rc-pg-"))
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(home, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(bin_dir, home / "data", free_port(), owner)
    try:
        cluster._run(
            str(bin_dir / "initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres"
        )
        cluster.start()
        cluster._run(
            str(bin_dir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            "postgres",
            "riverchief",
        )
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):  # not running
            cluster.stop("immediate")
        shutil.rmtree(home, ignore_errors=True)
