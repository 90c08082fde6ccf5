"""The registers of officers and case parties on the admin API, and the checks that use them.

* ``require_officer``: the ``actor`` of an officer's call (Admin.Submit, Lookups.Request and
  the recorded reads, Tasks.Get and Admin.BlacklistGet with ``reveal``) must be the id of an
  officer registered at a court this node serves (网络查询冻结规定 arts. 7–8: every query is
  attributable to a registered officer). Otherwise the call is refused (field ``actor``, rule
  ``officer_unregistered``) and the refusal recorded, without the actor's value: it may be a
  person's name.
* ``debtor_registered``: whether a lookup's debtor is a registered party of its case, checked
  by the requesting node before it appends the request (node/services/lookups.py,
  Admin.Submit).

Both registers are local data (never replicated) kept in the store (node/store/base.py
``RegisterStore``); the rules are sync/domain/registers.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import grpc

from ccnode.v1 import admin_pb2, payloads_pb2
from node.clock import Clock
from node.services.errors import refuse, refuse_invalid
from node.store.base import CasePartyRecord, OfficerRecord, Refusal, RefusalStore, RegisterStore
from node.store.batched import ReadBatcher
from node.store.runner import Db
from sync.domain import registers as reg
from sync.domain.case_number import parse_case_number
from sync.domain.errors import ValidationError
from sync.domain.identifiers import mask_id
from sync.domain.wording import CHAKONG

OFFICER_RULE = "officer_unregistered"
ADMIN_SOCKET_PEER = "admin-socket"


class RegistersStore(RegisterStore, RefusalStore, Protocol):
    """What the checks read and record."""


async def require_officer(
    db: Db[RegistersStore],
    court_prefixes: Sequence[str],
    actor: str,
    context: grpc.aio.ServicerContext,
    *,
    clock: Clock,
    method: str,
) -> None:
    """End the call unless ``actor`` names an officer registered at a court this node serves."""
    await _require_actor(actor, context)
    officer = await db.read(db.store.officer, actor.strip())
    await _require_serves(db, court_prefixes, officer, context, clock=clock, method=method)


# (officer id, the case party a lookup's debtor would be) -> (the officer, whether the party
# is registered; None: it could not be).
OfficerAndParty = ReadBatcher[
    tuple[str, reg.Party | None], tuple[OfficerRecord | None, bool | None]
]


def officer_and_party_reads(db: Db[RegistersStore]) -> OfficerAndParty:
    """The reads of ``require_officer_of_lookup``: those of the calls made at once in one
    trip to the store."""
    store = db.store
    return ReadBatcher(db, lambda asks: [_officer_and_party(store, o, p) for o, p in asks])


async def require_officer_of_lookup(
    db: Db[RegistersStore],
    reads: OfficerAndParty,
    court_prefixes: Sequence[str],
    actor: str,
    body: payloads_pb2.LookupRequested,
    context: grpc.aio.ServicerContext,
    *,
    clock: Clock,
    method: str,
) -> bool | None:
    """``require_officer``, then ``debtor_registered`` of the lookup ``body``, both read in one
    trip to the store (``reads``; the officer's refusal still comes first)."""
    await _require_actor(actor, context)
    party = _party_of(body, court_prefixes)
    officer, registered = await reads.read((actor.strip(), party))
    await _require_serves(db, court_prefixes, officer, context, clock=clock, method=method)
    return registered


def _officer_and_party(
    store: RegistersStore, officer_id: str, party: reg.Party | None
) -> tuple[OfficerRecord | None, bool | None]:
    officer = store.officer(officer_id)
    if party is None:
        return officer, None
    return officer, store.is_case_party(party.case_number, party.party_id)


async def _require_actor(actor: str, context: grpc.aio.ServicerContext) -> None:
    if not actor.strip():
        await refuse(
            context,
            "actor",
            "required",
            "name the officer responsible",
            zh=f"必须填写承办人：每次查询和写入都须能追溯到登记的承办人（{CHAKONG}第七条、第八条）",
        )


async def _require_serves(
    db: Db[RegistersStore],
    court_prefixes: Sequence[str],
    officer: OfficerRecord | None,
    context: grpc.aio.ServicerContext,
    *,
    clock: Clock,
    method: str,
) -> None:
    found = None if officer is None else reg.Officer(**_fields(officer))
    if reg.officer_serves(found, court_prefixes):
        return
    refusal = Refusal(clock.now_ms(), ADMIN_SOCKET_PEER, "", method, OFFICER_RULE)
    await db.write(db.store.record_refusal, refusal)
    await refuse(
        context,
        "actor",
        OFFICER_RULE,
        "must name an officer registered at a court this node serves (ccnode officers add; "
        "网络查询冻结规定 arts. 7–8: every query is attributable to a registered officer)",
        zh=(
            "不是本节点所辖法院登记的承办人（ccnode officers add）：每次查询须能追溯到登记的"
            f"承办人（{CHAKONG}第七条、第八条）"
        ),
    )


def _fields(o: OfficerRecord) -> dict[str, str]:
    return {"officer_id": o.officer_id, "court": o.court, "name": o.name, "role": o.role}


async def debtor_registered(
    db: Db[RegistersStore], body: payloads_pb2.LookupRequested, court_prefixes: Sequence[str]
) -> bool | None:
    """Whether the lookup's debtor is a registered party of its case; None when the case or
    the identifier is not even one a party could be registered with (a case of another type or
    court, a malformed ID): the request's own checks, here and at the target, name those."""
    party = _party_of(body, court_prefixes)
    if party is None:
        return None
    return bool(await db.read(db.store.is_case_party, party.case_number, party.party_id))


def _party_of(
    body: payloads_pb2.LookupRequested, court_prefixes: Sequence[str]
) -> reg.Party | None:
    """The case party the lookup's debtor would be registered as (None: none could be)."""
    try:
        party, _ = reg.validate_party(
            body.case_number,
            body.debtor,
            court_prefixes=court_prefixes,
            confirm_bad_credit_code=body.credit_code_confirmed,
        )
    except ValidationError:
        return None
    return party


def officer_pb(o: OfficerRecord) -> admin_pb2.Officer:
    return admin_pb2.Officer(officer_id=o.officer_id, court=o.court, name=o.name, role=o.role)


def party_pb(p: CasePartyRecord) -> admin_pb2.CaseParty:
    """A party as listed: the identifier masked (an organisation's code is public)."""
    debtor = payloads_pb2.Debtor(name=p.name)
    if p.party_type == "person":
        debtor.type = payloads_pb2.PERSON
        debtor.id_number = mask_id(p.party_id)
    else:
        debtor.type = payloads_pb2.ORG
        debtor.credit_code = p.party_id
    return admin_pb2.CaseParty(case_number=p.case_number, debtor=debtor)


class Registers:
    """The Admin RPCs of the two registers (AdminService delegates to these)."""

    def __init__(self, db: Db[RegistersStore], court_prefixes: Sequence[str]) -> None:
        self._db = db
        self._prefixes = tuple(court_prefixes)

    async def add_officer(
        self, request: admin_pb2.AddOfficerRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.AddOfficerResponse:
        o = request.officer
        try:
            officer = reg.validate_officer(
                o.officer_id, o.court, o.name, o.role, court_prefixes=self._prefixes
            )
        except ValidationError as exc:
            await refuse_invalid(context, exc)
        record = OfficerRecord(officer.officer_id, officer.court, officer.name, officer.role)
        await self._db.write(self._db.store.put_officer, record)
        return admin_pb2.AddOfficerResponse(officer=officer_pb(record))

    async def remove_officer(
        self, request: admin_pb2.RemoveOfficerRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RemoveOfficerResponse:
        removed = await self._db.write(self._db.store.remove_officer, request.officer_id.strip())
        return admin_pb2.RemoveOfficerResponse(removed=removed)

    async def list_officers(
        self, request: admin_pb2.ListOfficersRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListOfficersResponse:
        officers = await self._db.read(self._db.store.officers)
        return admin_pb2.ListOfficersResponse(officers=[officer_pb(o) for o in officers])

    async def _party(
        self, p: admin_pb2.CaseParty, context: grpc.aio.ServicerContext
    ) -> tuple[CasePartyRecord, tuple[str, ...]]:
        try:
            party, warnings = reg.validate_party(
                p.case_number,
                p.debtor,
                court_prefixes=self._prefixes,
                confirm_bad_credit_code=p.confirm_bad_credit_code,
            )
        except ValidationError as exc:
            await refuse_invalid(context, exc)
        record = CasePartyRecord(party.case_number, party.party_id, party.party_type, party.name)
        return record, warnings

    async def add_case_party(
        self, request: admin_pb2.AddCasePartyRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.AddCasePartyResponse:
        record, warnings = await self._party(request.party, context)
        await self._db.write(self._db.store.put_case_party, record)
        return admin_pb2.AddCasePartyResponse(warnings=warnings)

    async def remove_case_party(
        self, request: admin_pb2.RemoveCasePartyRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RemoveCasePartyResponse:
        record, _ = await self._party(request.party, context)
        removed = await self._db.write(
            self._db.store.remove_case_party, record.case_number, record.party_id
        )
        return admin_pb2.RemoveCasePartyResponse(removed=removed)

    async def list_case_parties(
        self, request: admin_pb2.ListCasePartiesRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListCasePartiesResponse:
        case = ""
        if request.case_number:
            try:
                case = parse_case_number(request.case_number, "case_number").text
            except ValidationError as exc:
                await refuse_invalid(context, exc)
        parties = await self._db.read(self._db.store.case_parties, case)
        return admin_pb2.ListCasePartiesResponse(parties=[party_pb(p) for p in parties])
