"""A throwaway PostgreSQL server for the test session.

``PgServer.start()`` runs initdb in a fresh temporary directory and starts the server listening
on 127.0.0.1 (a free port) and on a Unix socket inside that directory, with trust
authentication and fsync off (the data is thrown away, so durability buys nothing). ``stop()``
stops it (``pg_ctl stop -m fast``) and removes the directory.

PostgreSQL refuses to run as root, so under root the directory is handed to the ``postgres``
system user and every server command runs through ``runuser -u postgres --`` (or ``su``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

SUPERUSER = "postgres"
SERVER_USER = "postgres"  # the system account that runs the server when we are root
START_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120
# Test settings: nothing here needs to survive a crash, and tests should not wait on disks.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PgServerError(RuntimeError):
    """The test server could not be set up or started."""


def find_bindir() -> Path | None:
    """The newest server binaries: /usr/lib/postgresql/*/bin, then pg_config, then PATH."""
    candidates = sorted(
        (Path(path) for path in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda path: _version_key(path.parent.name),
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        output = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        bindir = Path(output.stdout.strip())
        if output.returncode == 0 and (bindir / "initdb").is_file():
            return bindir
    initdb = shutil.which("initdb")
    if initdb is not None and shutil.which("pg_ctl") is not None:
        return Path(initdb).parent
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PgServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.base_dir: Path | None = None
        self.port = 0
        self._running = False

    @property
    def data_dir(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "data"

    def start(self) -> None:
        """initdb and start; on any failure, stop whatever started and remove the directory."""
        self.base_dir = Path(tempfile.mkdtemp(prefix="ccnode-pg-"))
        try:
            self._hand_to_server_user(self.base_dir)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            self.port = _free_port()
            self._write_settings()
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.base_dir / "server.log"),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "start",
            )
            self._running = True
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory; safe to call twice."""
        try:
            if self._running:
                self._running = False
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        finally:
            if self.base_dir is not None:
                shutil.rmtree(self.base_dir, ignore_errors=True)
                self.base_dir = None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin_sql(self, statement: sql.Composable, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        ) as conn:
            conn.execute(statement)

    def create_database(self, name: str) -> str:
        """A new empty database (from template0: UTF8, C collation) and its URL."""
        self.admin_sql(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
        )
        return self.url(name)

    def reset_database(self, name: str) -> None:
        """Empty a database: end its other connections, drop and recreate schema public.

        A tenth of the time of CREATE DATABASE (which copies the whole template), and the
        per-test reset that keeps PostgreSQL tests independent.
        """
        self.admin_sql(
            sql.SQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ),
            database=name,
        )
        self.admin_sql(
            sql.SQL("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"), database=name
        )

    # ---- internals

    def _write_settings(self) -> None:
        assert self.base_dir is not None
        settings = dict(SERVER_SETTINGS)
        settings["port"] = str(self.port)
        settings["unix_socket_directories"] = f"'{self.base_dir}'"
        lines = "".join(f"{name} = {value}\n" for name, value in settings.items())
        # Appending as root keeps the file's owner (the server user) intact.
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# ccnode test server\n" + lines)

    def _hand_to_server_user(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        try:
            account = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PgServerError(
                f"running as root, and PostgreSQL refuses root: need a {SERVER_USER!r} system user"
            ) from None
        os.chown(path, account.pw_uid, account.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            command = _as_server_user(command)
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            timeout=COMMAND_TIMEOUT_S,
            cwd="/",  # the server user may not be able to enter our working directory
        )
        if result.returncode != 0:
            log = ""
            if self.base_dir is not None:
                with contextlib.suppress(OSError):
                    log = (self.base_dir / "server.log").read_text(encoding="utf-8")[-2000:]
            raise PgServerError(
                f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )


def _as_server_user(command: list[str]) -> list[str]:
    runuser = shutil.which("runuser")
    if runuser is not None:
        return [runuser, "-u", SERVER_USER, "--", *command]
    su = shutil.which("su")
    if su is not None:
        return [su, SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(command)]
    raise PgServerError("running as root and neither runuser nor su is available")
