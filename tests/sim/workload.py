"""Blacklist entries with real payloads, drafted from the simulation's RNG.

Each simulated origin writes 失信被执行人名单 entries the way a court's node would: it lists new
debtors, corrects its listings and delists them. A few entries are deliberately unusable (a
delisting of another origin's listing, which only that origin may write) so that the
fold's ``Ignored`` path is exercised too: every node must ignore exactly the same entries.

The data is synthetic: names, ID numbers and case numbers are made up from the RNG.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from ccnode.v1 import log_pb2, payloads_pb2
from sync.entry import SALT_BYTES, Entry, make_entry
from sync.folds.blacklist import TABLE, state_of, subject_prefix
from sync.folds.types import Row, StateKey
from sync.payload import encode_payload

LONG_CONDUCT = "拒不申报财产并转移名下车辆；"  # 13 characters, 39 bytes of UTF-8
COURTS = ("川0104", "川0105", "川0107", "渝0103", "渝0105", "渝0112")
GROUNDS_WITH_TERM = (payloads_pb2.G2, payloads_pb2.G3, payloads_pb2.G4, payloads_pb2.G5)

# Relative weights of what an origin drafts next (listings dominate, as in practice).
_LIST_WEIGHT = 6
_CORRECT_WEIGHT = 2
_DELIST_WEIGHT = 2
_ODD_WEIGHT = 1  # an entry every fold must ignore


def draft_entry(
    rng: random.Random,
    *,
    origin: str,
    index: int,
    hlc: int,
    rows: Mapping[StateKey, Row],
    other_origins: tuple[str, ...],
    large_p: float = 0.0,
) -> Entry:
    """The origin's next blacklist entry at ``index``, given its committed rows.

    With probability ``large_p`` a listing describes the debtor's conduct at length (a few
    KiB), so that batches hit the byte limit before the entry limit.
    """
    own = sorted(
        key
        for (table, key), row in rows.items()
        if table == TABLE and row["origin"] == origin and row["status"] == "listed"
    )
    action = rng.choices(
        ("list", "correct", "delist", "odd"),
        weights=(
            _LIST_WEIGHT,
            _CORRECT_WEIGHT if own else 0,
            _DELIST_WEIGHT if own else 0,
            _ODD_WEIGHT,
        ),
    )[0]
    salt = rng.randbytes(SALT_BYTES)
    actor = f"judge-{rng.randrange(20)}"
    if action == "list":
        subject = f"{subject_prefix(origin)}{index}"
        payload = payloads_pb2.Payload(
            blacklist_listed=payloads_pb2.BlacklistListed(record=_record(rng, index))
        )
        if rng.random() < large_p:
            payload.blacklist_listed.record.conduct = LONG_CONDUCT * rng.randint(20, 60)
        kind = log_pb2.BLACKLIST_LISTED
    elif action == "correct":
        subject = rng.choice(own)
        record = state_of(rows[(TABLE, subject)]).record
        record.conduct = f"补充认定的失信行为 {rng.randrange(1000)}"
        payload = payloads_pb2.Payload(
            blacklist_corrected=payloads_pb2.BlacklistCorrected(
                record=record, reason="更正笔误", corrected_on="2024-05-20"
            )
        )
        kind = log_pb2.BLACKLIST_CORRECTED
    elif action == "delist":
        subject = rng.choice(own)
        payload = payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(
                ground=payloads_pb2.D1, reason="全部履行完毕", delisted_on="2024-06-03"
            )
        )
        kind = log_pb2.BLACKLIST_DELISTED
    else:
        # Single writer: a delisting of another origin's subject is ignored by every fold.
        foreign = rng.choice(other_origins) if other_origins else origin
        subject = f"{subject_prefix(foreign)}{rng.randrange(50)}"
        payload = payloads_pb2.Payload(
            blacklist_delisted=payloads_pb2.BlacklistDelisted(
                ground=payloads_pb2.REVOKED, reason="错误纳入", delisted_on="2024-06-04"
            )
        )
        kind = log_pb2.BLACKLIST_DELISTED
    return make_entry(
        origin=origin,
        index=index,
        kind=kind,
        subject=subject,
        actor=actor,
        hlc=hlc,
        payload=encode_payload(kind, payload),
        salt=salt,
    )


def _record(rng: random.Random, index: int) -> payloads_pb2.BlacklistRecord:
    court = rng.choice(COURTS)
    person = rng.random() < 0.7
    if person:
        debtor = payloads_pb2.Debtor(
            type=payloads_pb2.PERSON,
            name=f"模拟人{index}",
            id_number=f"SIM{rng.randrange(10**14):014d}X",
            sex=rng.choice("MF"),
        )
    else:
        debtor = payloads_pb2.Debtor(
            type=payloads_pb2.ORG,
            name=f"模拟公司{index}",
            credit_code=f"SIM{rng.randrange(10**14):014d}A",
            legal_representative=f"模拟法人{index}",
        )
    fixed_term = rng.random() < 0.5
    ground = rng.choice(GROUNDS_WITH_TERM) if fixed_term else payloads_pb2.G1
    term_years = rng.randint(1, 5) if fixed_term else 0
    listed_year = 2020 + rng.randrange(4)
    listed_on = f"{listed_year}-03-0{rng.randint(1, 9)}"
    return payloads_pb2.BlacklistRecord(
        case_number=f"（{listed_year}）{court}执{rng.randint(1, 9999)}号",
        court=court,
        debtor=debtor,
        obligation="给付欠款及利息",
        performance="全部未履行",
        ground=ground,
        term_years=term_years,
        conduct="有履行能力而拒不履行",
        basis_issuer="模拟人民法院",
        basis_number=f"（{listed_year - 1}）{court}民初{rng.randint(1, 9999)}号",
        filed_on=f"{listed_year}-01-15",
        listed_on=listed_on,
        term_end_on=f"{listed_year + term_years}{listed_on[4:]}" if fixed_term else "",
    )
