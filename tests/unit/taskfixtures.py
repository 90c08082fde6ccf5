"""Building blocks for the task fold tests: headers, payloads and a two-node simulator that
writes task events the way nodes do (parents = the frontier of what the author holds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ccnode.v1 import log_pb2, payloads_pb2, state_pb2
from sync.entry import Header
from sync.folds import tasks as T
from sync.hlc import pack
from sync.payload import body_name, encode_payload

D, R, X = "chengdu", "chongqing", "mianyang"
SUBJECT = f"{D}/task/0"
BASE_MS = 1_735_660_800_000  # 2025-01-01 00:00 CST
DAY_MS = 86_400_000
CASE = "（2024）川0104执100号"


def payload(kind: int, body: object) -> bytes:
    p = payloads_pb2.Payload()
    getattr(p, body_name(kind)).CopyFrom(body)
    return encode_payload(kind, p)


def header(
    origin: str,
    index: int,
    kind: int,
    *,
    parents: Sequence[str] = (),
    day: int = 0,
    subject: str = SUBJECT,
    audience: Sequence[str] = (D, R),
    tick: int = 0,
) -> Header:
    return Header(
        origin=origin,
        index=index,
        kind=kind,
        subject=subject,
        audience=tuple(sorted(set(audience))),
        actor="officer",
        hlc=pack(BASE_MS + day * DAY_MS + tick, 0),
        payload_digest=b"\0" * 32,
        payload_size_bytes=0,
        parents=tuple(parents),
    )


def delegation(amount_fen: int = 1_000_000, costs_fen: int = 10_000) -> payloads_pb2.TaskDelegated:
    return payloads_pb2.TaskDelegated(
        scope=payloads_pb2.MATTER,
        matter=payloads_pb2.FREEZE,
        case_number=CASE,
        delegating_court="川0104",
        judge="王法官",
        receiving_node=R,
        receiving_court="渝0103",
        amount_fen=amount_fen,
        costs_fen=costs_fen,
    )


def measure(
    n: int,
    *,
    value_fen: int = 100_000,
    start_on: str = "2025-01-02",
    term_days: int = 365,
    asset_id: str = "",
    category: int = payloads_pb2.DEPOSIT,
    queue_position: int = 0,
    indivisible: bool = False,
    subject: str = SUBJECT,
) -> payloads_pb2.SeizureMeasure:
    return payloads_pb2.SeizureMeasure(
        seizure_id=f"{subject}/s{n}",
        asset=payloads_pb2.AssetRecord(asset_id=asset_id or f"acct-{n}", category=category),
        value_fen=value_fen,
        start_on=start_on,
        term_days=term_days,
        queue_position=queue_position,
        indivisible=indivisible,
        indivisible_reason="one flat" if indivisible else "",
    )


BODIES: dict[int, object] = {
    log_pb2.TASK_DELEGATED: delegation(),
    log_pb2.TASK_ACCEPTED: payloads_pb2.TaskAccepted(judge="李法官"),
    log_pb2.TASK_REJECTED: payloads_pb2.TaskRejected(reason="not ours"),
    log_pb2.TASK_RETURNED: payloads_pb2.TaskReturned(reason="letter missing"),
    log_pb2.TASK_SUPPLEMENTED: payloads_pb2.TaskSupplemented(note="letter"),
    log_pb2.TASK_PROGRESS: payloads_pb2.TaskProgress(report="working"),
    log_pb2.TASK_COMPLETED: payloads_pb2.TaskCompleted(result="done"),
    log_pb2.TASK_FAILED: payloads_pb2.TaskFailed(reason="nothing found"),
    log_pb2.TASK_CANCELLED: payloads_pb2.TaskCancelled(reason="paid"),
}


def default_payload(kind: int) -> bytes:
    return payload(kind, BODIES[kind])


@dataclass
class TwoNodes:
    """D delegated (entry D/0); both nodes then act on what they hold and exchange events."""

    held: dict[str, list[tuple[Header, bytes | None]]] = field(default_factory=dict)
    log: dict[str, list[tuple[Header, bytes | None]]] = field(default_factory=dict)
    day: int = 0
    tick: int = 0
    measures: int = 0

    def __post_init__(self) -> None:
        self.held = {D: [], R: []}
        self.log = {D: [], R: []}
        self.act(D, log_pb2.TASK_DELEGATED)

    def events_of(self, node: str) -> list[state_pb2.TaskEventState]:
        return [T.event_of(h, p) for h, p in self.held[node]]

    def act(self, node: str, kind: int, body: bytes | None = None) -> Header:
        self.tick += 1
        parents = T.frontier(self.events_of(node)) if kind != log_pb2.TASK_DELEGATED else []
        h = header(node, len(self.log[node]), kind, parents=parents, day=self.day, tick=self.tick)
        item = (h, body if body is not None else self.body(kind))
        self.log[node].append(item)
        self.held[node].append(item)
        return h

    def body(self, kind: int) -> bytes:
        if kind in (log_pb2.TASK_PROGRESS, log_pb2.TASK_COMPLETED):
            self.measures += 1
            m = measure(self.measures, start_on=self.date())
            field_name = "task_progress" if kind == log_pb2.TASK_PROGRESS else "task_completed"
            p = payloads_pb2.Payload()
            getattr(p, field_name).CopyFrom(BODIES[kind])
            getattr(p, field_name).measures.append(m)
            return encode_payload(kind, p)
        return default_payload(kind)

    def date(self) -> str:
        return T.date_of(pack(BASE_MS + self.day * DAY_MS, 0)).isoformat()

    def deliver(self, to: str, count: int) -> None:
        """``to`` receives up to ``count`` more of the other node's events, in log order."""
        other = R if to == D else D
        have = sum(1 for h, _ in self.held[to] if h.origin == other)
        self.held[to].extend(self.log[other][have : have + count])

    def all_events(self) -> list[tuple[Header, bytes | None]]:
        return self.log[D] + self.log[R]


def renewal(seizure_n: int, term_days: int = 365) -> bytes:
    return payload(
        log_pb2.SEIZURE_RENEWED,
        payloads_pb2.SeizureRenewed(seizure_id=f"{SUBJECT}/s{seizure_n}", term_days=term_days),
    )


def release(seizure_n: int) -> bytes:
    return payload(
        log_pb2.SEIZURE_RELEASED,
        payloads_pb2.SeizureReleased(seizure_id=f"{SUBJECT}/s{seizure_n}", reason="paid"),
    )
