"""A node home whose store holds signed logs of every business (listings, lookups, tasks, reads
of personal data), refusals and evidence, for the audit CLI tests. Deterministic: fixed salts
and clocks, keys from a throwaway CA in the test's temporary directory."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from ccnode.v1 import log_pb2, payloads_pb2
from node.clock import CST
from node.config import NodeConfig
from node.identity.ca import init_ca, issue_node
from node.identity.keyfiles import load_certificate, load_log_signing_key
from node.store import open_store
from node.store.base import EvidenceRecord, OriginState, Refusal, Store, StoredEntry
from sync.checkpoint import Checkpoint, CosignatureSigner, origin_line, sign_checkpoint
from sync.entry import Entry, make_entry
from sync.merkle import Frontier
from sync.note import Ed25519Signer, add_signatures, parse_note
from sync.payload import encode_payload
from tests.cli.support import ok

TD = "chengyu.court"
AUDITOR_URI = f"spiffe://{TD}/auditor/npc"
COSIGNED_AT = dt.datetime(2024, 3, 7, 12, tzinfo=dt.UTC)
ID_NUMBER = "510104199003071237"


@dataclass(frozen=True)
class Spec:
    kind: int
    subject: str
    actor: str
    at: dt.datetime
    payload: payloads_pb2.Payload
    audience: tuple[str, ...] = ()


def _ms(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=CST)


def _debtor() -> payloads_pb2.Debtor:
    return payloads_pb2.Debtor(type=payloads_pb2.PERSON, name="张三", id_number=ID_NUMBER)


def listing(n: int) -> Spec:
    record = payloads_pb2.BlacklistRecord(
        case_number=f"（2024）川0104执{100 + n}号", court="川0104", debtor=_debtor()
    )
    return Spec(
        log_pb2.BLACKLIST_LISTED,
        f"chengdu/bl/{n}",
        "法官王五",
        _ms("2024-03-0" + str(n + 1)),
        payloads_pb2.Payload(blacklist_listed=payloads_pb2.BlacklistListed(record=record)),
    )


def chengdu_specs() -> list[Spec]:
    both = ("chengdu", "chongqing")
    return [
        listing(0),
        listing(1),
        listing(2),
        Spec(
            log_pb2.LOOKUP_ANSWERED,
            "chongqing/lookup/0",
            "lookup-responder",
            _ms("2024-03-05"),
            payloads_pb2.Payload(
                lookup_answered=payloads_pb2.LookupAnswered(request="chongqing/0")
            ),
            both,
        ),
        Spec(
            log_pb2.LOOKUP_DENIED,
            "chongqing/lookup/1",
            "lookup-responder",
            _ms("2024-03-05", 11),
            payloads_pb2.Payload(lookup_denied=payloads_pb2.LookupDenied(request="chongqing/1")),
            both,
        ),
        Spec(
            log_pb2.TASK_ACCEPTED,
            "chongqing/task/3",
            "法官李四",
            _ms("2024-03-06"),
            payloads_pb2.Payload(task_accepted=payloads_pb2.TaskAccepted(judge="李四")),
            both,
        ),
        Spec(
            log_pb2.ACCESS_RECORDED,
            "chengdu/access/6",
            AUDITOR_URI,
            _ms("2024-03-07"),
            payloads_pb2.Payload(
                access_recorded=payloads_pb2.AccessRecorded(
                    entries=["chengdu/0"], purpose="年度监督", what="audit: entry payloads"
                )
            ),
            ("chengdu",),
        ),
    ]


def chongqing_specs() -> list[Spec]:
    both = ("chengdu", "chongqing")
    lookups = [
        Spec(
            log_pb2.LOOKUP_REQUESTED,
            f"chongqing/lookup/{i}",
            "法官赵六",
            _ms("2024-03-04", 9 + i),
            payloads_pb2.Payload(
                lookup_requested=payloads_pb2.LookupRequested(
                    target_node="chengdu", case_number="（2024）渝01执9号", debtor=_debtor()
                )
            ),
            both,
        )
        for i in range(3)
    ]
    tasks = [
        Spec(
            log_pb2.TASK_DELEGATED,
            f"chongqing/task/{3 + i}",
            "法官赵六",
            _ms("2024-03-01", 9 + i),
            payloads_pb2.Payload(
                task_delegated=payloads_pb2.TaskDelegated(
                    case_number="（2024）渝01执9号", receiving_node="chengdu", debtor=_debtor()
                )
            ),
            both,
        )
        for i in range(2)
    ]
    return lookups + tasks


def append_specs(store: Store, signer: Ed25519Signer, specs: list[Spec]) -> None:
    """One commit (and one signed checkpoint) per entry, as a node appending them would."""
    origin = signer.name.rsplit("/", 1)[1]
    state = store.origin_state(origin)
    frontier = Frontier.from_bytes(state.frontier) if state else Frontier()
    for spec in specs:
        index = frontier.size
        payload = encode_payload(spec.kind, spec.payload)
        hlc = int(spec.at.timestamp() * 1000) << 16
        entry = make_entry(
            origin=origin,
            index=index,
            kind=spec.kind,
            subject=spec.subject,
            actor=spec.actor,
            hlc=hlc,
            payload=payload,
            salt=hashlib.sha256(f"{origin}/{index}".encode()).digest()[:16],
            audience=spec.audience,
        )
        frontier.append(entry.leaf_hash())
        note = sign_checkpoint(Checkpoint(signer.name, frontier.size, frontier.root()), signer)
        store.append(
            origin=origin,
            expected_size=index,
            entries=[stored(origin, index, spec, hlc, entry, payload)],
            state=OriginState(origin, frontier.size, frontier.root(), frontier.to_bytes(), note),
        )


def stored(
    origin: str, index: int, spec: Spec, hlc: int, entry: Entry, payload: bytes
) -> StoredEntry:
    return StoredEntry(
        origin=origin,
        index=index,
        kind=spec.kind,
        subject=spec.subject,
        actor=spec.actor,
        hlc=hlc,
        leaf_hash=entry.leaf_hash(),
        header=entry.header,
        salt=entry.salt,
        payload=payload,
    )


def witness(store: Store, origin: str, certs: Path, node_id: str, at: dt.datetime) -> None:
    """``node_id`` cosigns ``origin``'s latest checkpoint, as a witnessing peer would."""
    state = store.origin_state(origin)
    assert state is not None
    key = load_log_signing_key(certs / "log.key")
    cosigner = CosignatureSigner(origin_line(TD, node_id), key)
    sig = cosigner.cosign(parse_note(state.checkpoint_note).text, int(at.timestamp()))
    store.add_cosignature(origin, state.size, node_id, sig.line())
    store.update_checkpoint_note(origin, state.size, add_signatures(state.checkpoint_note, [sig]))


def make_ca(root: Path) -> Path:
    ca = root / "ca"
    init_ca(ca, TD)
    for node_id in ("chengdu", "chongqing"):
        issue_node(ca, node_id, root / node_id)
    return ca


def signer_of(certs: Path, node_id: str) -> Ed25519Signer:
    return Ed25519Signer(origin_line(TD, node_id), load_log_signing_key(certs / "log.key"))


def audit_home(tmp_path: Path, ca: Path) -> NodeConfig:
    """chengdu's home (node not running) holding both logs, refusals and one evidence."""
    home = tmp_path / "home"
    ok("init", "--home", home, "--node-id", "chengdu", "--listen", "127.0.0.1:7001",
       "--certs", ca.parent / "chengdu")  # fmt: skip
    config = NodeConfig.load(home)
    store = open_store(config.db_url)
    try:
        append_specs(store, signer_of(config.certs_dir, "chengdu"), chengdu_specs())
        chongqing = ca.parent / "chongqing"
        append_specs(store, signer_of(chongqing, "chongqing"), chongqing_specs())
        witness(store, "chengdu", chongqing, "chongqing", COSIGNED_AT)
        der = load_certificate(chongqing / "log.pem").public_bytes(Encoding.DER)
        store.put_origin_key("chongqing", der)
        for i, reason in enumerate(
            ["revoked", "role_not_allowed:auditor", "role_not_allowed:node"]
        ):
            at = int(_ms("2024-03-08", 9 + i).timestamp() * 1000)
            store.record_refusal(Refusal(at, "ipv4:10.0.0.9:5555", AUDITOR_URI, "Hello", reason))
        store.add_evidence(
            EvidenceRecord("mianyang", "small-note", "large-note", b"", (), "chengdu", 1)
        )
    finally:
        store.close()
    return config
