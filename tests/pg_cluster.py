"""A throwaway PostgreSQL server for the test session: ``initdb`` and ``pg_ctl`` in a
temporary folder, listening on 127.0.0.1 on a free port, removed at the end.

PostgreSQL refuses to run as root, and CI runs as root: there the cluster runs as the
``postgres`` system user that Debian's ``postgresql`` package creates (``runuser``), its
folder owned by that user. Anyone else runs it as themselves. Missing binaries are a
failure that says what to install, never a skip (``.ci/run`` installs the package).

A run killed before its teardown (a time limit, a signal, a mutation run's worker) cannot
stop its server: each folder names the process that started it, and the next start stops
and removes the servers whose process is gone, instead of leaving them running for ever.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# the binaries' folder, if they are somewhere else
BIN_ENV = "TTYDESK_PG_BIN"
SYSTEM_USER = "postgres"
START_TIMEOUT_SECONDS = 60
PORT_ATTEMPTS = 3
TOOLS = ("initdb", "pg_ctl", "postgres")
# a test server: nothing here must survive a power cut, and the machine is shared
TEST_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c shared_buffers=32MB"
)
# "<pid> <start time>" of the process that started the folder's server
OWNER_FILE = "owner"
FOLDER_PREFIX = "ttydesk-pg-"
INSTALL_HINT = (
    "install Debian's postgresql package (apt-get install postgresql; .ci/run does) "
    f"or set {BIN_ENV} to the folder of initdb and pg_ctl"
)


class ClusterError(Exception):
    """The test cluster cannot start: ``str()`` says why and what to do."""


def find_binaries() -> Path:
    """The folder of initdb, pg_ctl and postgres: $TTYDESK_PG_BIN, Debian's newest
    /usr/lib/postgresql/<version>/bin, else the PATH."""
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV):
        candidates.append(Path(os.environ[BIN_ENV]))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    versions.sort(key=lambda folder: int(Path(folder).parent.name or 0), reverse=True)
    candidates += [Path(folder) for folder in versions]
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in TOOLS):
            return folder
    raise ClusterError(f"PostgreSQL's initdb and pg_ctl were not found: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    """One running server; ``url(name)`` is a database on it (trust auth, user postgres)."""

    folder: Path
    bin_dir: Path
    port: int
    as_user: str | None  # the system user the server runs as (None: this process's)
    options: str = TEST_OPTIONS  # the server's settings (``-c name=value …``)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_user is not None:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS,
            cwd=self.folder,
            check=False,
        )

    def _checked(self, *args: str) -> None:
        done = self._run(*args)
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip().splitlines()
            raise ClusterError(f"{args[0]} failed: {output[-1] if output else done.returncode}")

    def start(self) -> None:
        self._checked(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        # the port was free when picked, but PostgreSQL cannot listen on port 0 and say
        # which it got: another process may take it first, then the next free one is tried
        for attempt in range(PORT_ATTEMPTS):
            try:
                self._serve()
                return
            except ClusterError:
                if attempt == PORT_ATTEMPTS - 1 or "already in use" not in self.log_tail(5):
                    raise
                self.port = _free_port()

    def _serve(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories='' {self.options}"
        )
        self._checked(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.folder / "server.log"),
            "-o", options, "-w", "-t", str(START_TIMEOUT_SECONDS), "start",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(
                (self.folder / "server.log").read_text(errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return ""


def _server_user() -> pwd.struct_passwd | None:
    """The system user the server runs as: None (this process's) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise ClusterError(
            f"PostgreSQL does not run as root and there is no {SYSTEM_USER!r} user to "
            f"run it as: {INSTALL_HINT}"
        ) from None


def _started_at(pid: int) -> str | None:
    """A live process's start time (in clock ticks since boot: a reused pid has another),
    None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name before ")" may hold spaces


def _owner_mark() -> str:
    return f"{os.getpid()} {_started_at(os.getpid())}"


def reap_orphans(bin_dir: Path, as_user: str | None) -> list[Path]:
    """Stop and remove every test server whose starting process is gone; the folders
    reaped. A folder without an owner (one being made, or an older run's) is left alone."""
    if not Path("/proc/self/stat").exists():  # no way to tell a live owner here
        return []
    reaped = []
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        try:
            pid, started = (folder / OWNER_FILE).read_text().split()
        except (OSError, ValueError):
            continue
        if _started_at(int(pid)) == started:
            continue
        Cluster(folder, bin_dir, 0, as_user).stop()
        reaped.append(folder)
    return reaped


def start_cluster(options: str = TEST_OPTIONS) -> Cluster:
    """A new server, started; raises ``ClusterError`` with the reason and the fix.
    ``options``: its settings (the benchmarks' server commits durably)."""
    bin_dir = find_binaries()
    owner = _server_user()
    as_user = owner.pw_name if owner is not None else None
    reap_orphans(bin_dir, as_user)
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    (folder / OWNER_FILE).write_text(_owner_mark())
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(folder, bin_dir, _free_port(), as_user, options)
    try:
        cluster.start()
    except BaseException as exc:
        detail = cluster.log_tail(5)
        cluster.stop()
        if isinstance(exc, ClusterError) and detail:
            raise ClusterError(f"{exc}\n{detail}") from None
        raise
    return cluster
