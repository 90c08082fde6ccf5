"""``ccnode demo``: two nodes on loopback (embedded SQLite), and a blacklist entry replicating.

Everything is real: a throwaway CA, two node homes, two ``ccnode serve`` processes talking
mutual TLS on 127.0.0.1, the Admin API over their Unix sockets. Chengdu (川01) lists a
debtor; Chongqing (渝01) answers "is this person listed?" from its own copy once the entry
has replicated. The nodes are always stopped (SIGTERM, then SIGKILL after a grace period),
and the work directory removed unless --keep or --dir.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import click
from rich.console import Console

from ccnode.v1 import admin_pb2
from cli.blacklist import listing_draft, shown_id
from cli.common.client import NodeClient, node_client
from cli.output import console, err_console
from node.config import init_home
from node.identity.ca import init_ca, issue_node
from node.identity.spiffe import TRUST_DOMAIN_DEFAULT
from sync.domain.blacklist import parse_listing_json
from sync.domain.identifiers import resident_id_check_char

T = TypeVar("T")

START_TIMEOUT_S = 20.0
STOP_GRACE_S = 10.0
POLL_INTERVAL_S = 0.1
ACTOR = "demo-officer"
DEMO_COURT = "川0104"  # the sample listing's court, where the demo's officer is registered
LOG_TAIL_LINES = 20


@dataclass
class _Node:
    node_id: str
    court_prefix: str
    home: Path
    listen: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = field(default=None, repr=False)


def _free_ports(count: int) -> list[int]:
    """Ports the kernel handed out just now; all held open together so they differ."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def _sample_listing() -> dict[str, object]:
    """A fictional debtor of the Jinjiang District court (川0104), with a valid check digit."""
    body = "51010419900307123"
    return {
        "case_number": "（2024）川0104执1234号",
        "court": DEMO_COURT,
        "debtor_type": "person",
        "name": "张三",
        "id_number": body + resident_id_check_char(body),
        "obligation": "支付货款人民币120,000元及利息",
        "performance": "全部未履行",
        "ground": "G1",
        "basis_issuer": "成都市锦江区人民法院",
        "basis_number": "（2023）川0104民初567号",
        "filed_on": "2024-03-01",
    }


class _Narrator:
    def __init__(self, out: Console) -> None:
        self.out = out
        self.step = 0
        self.t0 = time.monotonic()

    def say(self, text: str, elapsed_s: float | None = None) -> None:
        self.step += 1
        timing = f"  [dim]({elapsed_s:.2f} s)[/]" if elapsed_s is not None else ""
        self.out.print(f"[bold cyan]{self.step}.[/] {text}{timing}", markup=True)


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


def _make_nodes(work: Path, narrator: _Narrator) -> list[_Node]:
    ca_dir = work / "ca"
    _, ca_s = _timed(lambda: init_ca(ca_dir))
    narrator.say(f"federation CA 根证书 in {ca_dir} (trust domain {TRUST_DOMAIN_DEFAULT})", ca_s)
    nodes: list[_Node] = []
    ports = _free_ports(2)
    for (node_id, prefix), port in zip(
        (("chengdu", "川01"), ("chongqing", "渝01")), ports, strict=True
    ):
        certs = work / "certs" / node_id
        issue_node(ca_dir, node_id, certs, court_prefixes=[prefix])
        home = work / node_id
        listen = f"127.0.0.1:{port}"
        init_home(
            home,
            node_id=node_id,
            listen=listen,
            certs=certs,
            trust_domain=TRUST_DOMAIN_DEFAULT,
            court_prefixes=[prefix],
        )
        nodes.append(_Node(node_id, prefix, home, listen, home / "node.log"))
    return nodes


def _serve_command(home: Path) -> list[str]:
    return [sys.executable, "-m", "cli.main", "serve", "--home", str(home)]


def _start(node: _Node) -> None:
    node.log_file = node.log_path.open("ab")
    # Own session: a Ctrl-C in the terminal reaches the demo, which then stops the nodes in
    # order, rather than killing them mid-write.
    node.process = subprocess.Popen(  # noqa: S603  # our own interpreter and arguments
        _serve_command(node.home),
        stdin=subprocess.DEVNULL,
        stdout=node.log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_ready(node: _Node, timeout_s: float) -> admin_pb2.StatusResponse:
    """Poll the admin socket until Status answers; fail fast if the process died."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert node.process is not None
        if node.process.poll() is not None:
            raise click.ClickException(
                f"{node.node_id} exited with code {node.process.returncode} while starting"
            )
        if (node.home / "admin.sock").is_socket():
            try:
                with node_client(node.home, timeout_s=1.0) as client:
                    return client.call(
                        client.admin.Status, admin_pb2.StatusRequest(), admin_pb2.StatusResponse
                    )
            except click.ClickException:
                pass  # socket bound, service not serving yet
        if time.monotonic() > deadline:
            raise click.ClickException(f"{node.node_id} did not start within {timeout_s:g} s")
        time.sleep(POLL_INTERVAL_S)


def _stop(node: _Node) -> None:
    process = node.process
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if node.log_file is not None:
        node.log_file.close()
        node.log_file = None


def _log_tail(node: _Node) -> str:
    try:
        lines = node.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(empty log)"


def _wait_replicated(
    client: NodeClient, id_number: str, subject: str, timeout_s: float
) -> admin_pb2.BlacklistItem | None:
    deadline = time.monotonic() + timeout_s
    request = admin_pb2.BlacklistSearchRequest(id_number=id_number, limit=10)
    while time.monotonic() <= deadline:
        search = client.call(
            client.admin.BlacklistSearch, request, admin_pb2.BlacklistSearchResponse
        )
        for item in search.items:
            if item.subject == subject:
                return item
        time.sleep(POLL_INTERVAL_S)
    return None


@contextmanager
def _work_dir(work_dir: Path | None, keep: bool) -> Iterator[Path]:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        if any(work_dir.iterdir()):
            raise click.ClickException(f"--dir {work_dir} must be empty")
        yield work_dir
        return
    work = Path(tempfile.mkdtemp(prefix="ccnode-demo-"))
    try:
        yield work
    finally:
        if keep:
            console().print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, timeout_s: float) -> None:
    out = console()
    out.print("[bold]ccnode demo[/] — two nodes on loopback, embedded SQLite", markup=True)
    narrator = _Narrator(out)
    nodes = _make_nodes(work, narrator)
    chengdu, chongqing = nodes
    try:
        for node in nodes:
            start = time.monotonic()
            _start(node)
            status = _wait_ready(node, START_TIMEOUT_S)
            narrator.say(
                f"{node.node_id} ({node.court_prefix}) serving on {node.listen}, "
                f"log size {status.log_size}",
                time.monotonic() - start,
            )
        for node, other in ((chengdu, chongqing), (chongqing, chengdu)):
            peer = admin_pb2.Peer(node_id=other.node_id, address=other.listen)
            with node_client(node.home) as client:
                client.call(
                    client.admin.AddPeer,
                    admin_pb2.AddPeerRequest(peer=peer),
                    admin_pb2.AddPeerResponse,
                )
        narrator.say("peered both ways over mutual TLS")
        _register_officer(chengdu)
        narrator.say(f"chengdu registers officer {ACTOR} (the --actor of its writes)")
        _replicate(chengdu, chongqing, narrator, timeout_s)
    except BaseException:
        for node in nodes:
            err_console().print(f"--- {node.node_id} log ({node.log_path}):", markup=False)
            err_console().print(_log_tail(node), markup=False)
        raise
    finally:
        for node in nodes:
            _stop(node)
    narrator.say("stopped both nodes")


def _register_officer(node: _Node) -> None:
    """The demo's officer, at the court of the sample listing: every write names one."""
    officer = admin_pb2.Officer(officer_id=ACTOR, court=DEMO_COURT, name="演示承办人", role="judge")
    with node_client(node.home) as client:
        client.call(
            client.admin.AddOfficer,
            admin_pb2.AddOfficerRequest(officer=officer),
            admin_pb2.AddOfficerResponse,
        )


def _replicate(chengdu: _Node, chongqing: _Node, narrator: _Narrator, timeout_s: float) -> None:
    listing = _sample_listing()
    id_number = str(listing["id_number"])
    draft = listing_draft(parse_listing_json(listing), confirm_bad_credit_code=False)
    with node_client(chengdu.home) as client:
        submitted, submit_s = _timed(lambda: client.submit([draft], ACTOR))
    subject, entry_id = submitted.subjects[0], submitted.entry_ids[0]
    narrator.say(
        f"chengdu lists {listing['case_number']} → {subject} (entry {entry_id}, "
        f"checkpoint size {submitted.size})",
        submit_s,
    )
    with node_client(chongqing.home) as client:
        item, wait_s = _timed(lambda: _wait_replicated(client, id_number, subject, timeout_s))
        if item is None:
            raise click.ClickException(
                f"chongqing did not receive {subject} within {timeout_s:g} s: replication failed"
            )
        narrator.say(
            f"chongqing finds {item.subject} in its own copy: {item.status}, "
            f"ID {shown_id(item.record.debtor, revealed=False)}, origin {item.origin}",
            wait_s,
        )
        sync = client.call(
            client.admin.SyncStatus, admin_pb2.SyncStatusRequest(), admin_pb2.SyncStatusResponse
        )
    sizes = ", ".join(f"{o.origin} {o.size}" for o in sorted(sync.origins, key=lambda o: o.origin))
    narrator.say(f"chongqing holds logs: {sizes}")


@click.command("demo")
@click.option(
    "--dir",
    "work_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Work in this (empty) directory and keep it, instead of a temporary one.",
)
@click.option("--keep", is_flag=True, help="Keep the temporary directory (homes, logs, CA).")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=1.0),
    default=15.0,
    show_default=True,
    help="Seconds to wait for the entry to replicate.",
)
def demo(work_dir: Path | None, keep: bool, timeout_s: float) -> None:
    """Two nodes on loopback: list a debtor in Chengdu, see it replicate to Chongqing."""
    with _work_dir(work_dir, keep) as work:
        _run(work, timeout_s)
