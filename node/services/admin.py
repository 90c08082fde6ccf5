"""The local Admin service (Unix socket, mode 0600): what the `ccnode` CLI calls."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from ccnode.v1 import admin_pb2, admin_pb2_grpc, log_pb2, payloads_pb2
from node.businesses.access import record_access
from node.businesses.agency import AgencyGate, effective_limits
from node.businesses.blacklist.check import (
    STATUSES,
    SubjectCheck,
    check_subject,
    listings_by_id,
    normalised_id,
)
from node.businesses.retention import retention_status
from node.clock import Clock, today
from node.config import COURT_PREFIX_RE, NODE_ID_RE, NodeConfig
from node.identity.spiffe import spiffe_uri
from node.ownlog.writer import Draft, DraftRejected
from node.ports import Appender, Keys, PeerLinks
from node.replication.equivocation import evidence_pb
from node.services.dates import as_of_day
from node.services.errors import refuse, refuse_draft
from node.services.projections import listing_item
from node.services.purges import purges_of
from node.services.refusals import refusal_fields, refusals_page
from node.services.registers import Registers, debtor_registered, require_officer
from node.store.base import (
    AgencyRecord,
    AgencyStore,
    EvidenceStore,
    LogReader,
    OriginState,
    PeerRecord,
    PeerStore,
    RefusalStore,
    RegisterStore,
    RetentionStore,
    RowQuery,
    RowStore,
)
from node.store.runner import Db
from node.store.verify import verify_store
from sync.domain import blacklist as bl_rules
from sync.domain.courts_cn import prefix_problem
from sync.domain.identifiers import DEFAULT_ID_MASKS, IdMasks, mask_id
from sync.domain.wording import ANHAO, PIPL
from sync.folds import blacklist as bl_fold
from sync.ids import NODE_ID
from sync.note import Ed25519Signer

LIMIT_MAX = 1000
# How long adding a peer waits for its address to answer (twice: a Hello, then a plain TLS
# handshake to learn who is there); within the CLI's call deadline.
PEER_CHECK_TIMEOUT_S = 3.0


def masked_item(
    item: admin_pb2.BlacklistItem, masks: IdMasks = DEFAULT_ID_MASKS
) -> admin_pb2.BlacklistItem:
    """A listing as published: a person's resident ID with the resident-ID mask and a
    person's credit code with the credit-code mask (the node's configured ``masks``); an
    organisation's credit code or organisation code in full (法释〔2017〕7号 art. 6)."""
    out = admin_pb2.BlacklistItem()
    out.CopyFrom(item)
    d = out.record.debtor
    if d.id_number:
        d.id_number = mask_id(d.id_number, masks.resident_id)
    if d.credit_code and d.type == payloads_pb2.PERSON:
        d.credit_code = mask_id(d.credit_code, masks.credit_code)
    if d.org_code and d.type == payloads_pb2.PERSON:
        d.org_code = mask_id(d.org_code, masks.org_code)
    for rep in (*out.record.representatives, *out.former_representatives):
        rep.id_number = mask_id(rep.id_number, masks.resident_id)
    return out


def with_term_view(item: admin_pb2.BlacklistItem, as_of: dt.date) -> admin_pb2.BlacklistItem:
    """``item`` with where its fixed term stands on ``as_of`` (the fold stores its term end
    and delisting deadline)."""
    view = bl_rules.term_view(
        dt.date.fromisoformat(item.record.term_end_on),
        dt.date.fromisoformat(item.delist_due_on),
        as_of,
    )
    item.term_state = view.state
    item.term_days_left = view.days_left
    return item


@dataclass(frozen=True)
class _StatusReads:
    states: list[OriginState]  # in origin order
    cosignatures: dict[str, list[tuple[str, str]]]  # origin -> (witness, line) at its size
    evidence_count: int
    vector: dict[str, int]
    peers: list[PeerRecord]
    refusal_count: int


class AdminStore(
    LogReader,
    PeerStore,
    RowStore,
    RefusalStore,
    EvidenceStore,
    RetentionStore,
    AgencyStore,
    RegisterStore,
    Protocol,
):
    """What the admin API reads: logs, peers, folded rows, refusals, evidence, purges,
    agencies and the registers."""


def _by_id(
    store: RowStore, id_key: str, statuses: Collection[str], *, representatives: bool
) -> tuple[dict[str, list[dict[str, Any]]], SubjectCheck]:
    """The listing rows of ``id_key`` as the debtor and, with ``representatives``, the
    organisations' listings that bind that person: one reader-thread trip."""
    found = listings_by_id(store, [id_key], statuses=statuses)
    if not representatives:
        return found, SubjectCheck(())
    return found, check_subject(store, id_key, statuses=statuses, debtors=False)


class AdminService(admin_pb2_grpc.AdminServicer):
    def __init__(
        self,
        *,
        db: Db[AdminStore],
        config: NodeConfig,
        appender: Appender,
        links: PeerLinks,
        keys: Keys,
        signer: Ed25519Signer,
        clock: Clock,
        agency_gate: AgencyGate,
    ) -> None:
        self._agency_gate = agency_gate
        self._db = db
        self._config = config
        self._masks = config.masks.policies()
        self._appender = appender
        self._links = links
        self._keys = keys
        self._signer = signer
        self._clock = clock
        self._registers = Registers(db, config.court_prefixes)

    async def Status(
        self, request: admin_pb2.StatusRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.StatusResponse:
        c = self._config
        state = await self._db.read(self._db.store.origin_state, c.node_id)
        return admin_pb2.StatusResponse(
            node_id=c.node_id,
            trust_domain=c.trust_domain,
            listen=c.listen,
            vkey=self._signer.vkey(),
            log_size=state.size if state else 0,
            court_prefixes=c.court_prefixes,
            version=importlib.metadata.version("ccnode"),
        )

    async def Submit(
        self, request: admin_pb2.SubmitRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.SubmitResponse:
        await require_officer(
            self._db,
            self._config.court_prefixes,
            request.actor,
            context,
            clock=self._clock,
            method="Admin.Submit",
        )
        drafts = [
            Draft(
                kind=d.kind,
                payload=d.payload,
                subject=d.subject,
                audience=tuple(d.audience),
                confirm_bad_credit_code=d.confirm_bad_credit_code,
            )
            for d in request.drafts
        ]
        for draft in drafts:
            if draft.kind == log_pb2.LOOKUP_REQUESTED:
                # The node, not the client, states that the debtor is a party of the case.
                body = draft.payload.lookup_requested
                body.debtor_registered = bool(
                    await debtor_registered(self._db, body, self._config.court_prefixes)
                )
        try:
            result = await self._appender.submit(
                drafts,
                request.actor,
                skip_done=request.skip_listed,
                check_only=request.check_only,
            )
        except DraftRejected as exc:
            await refuse_draft(context, exc)
        return admin_pb2.SubmitResponse(
            entry_ids=result.entry_ids,
            subjects=result.subjects,
            size=result.size,
            checkpoint=result.checkpoint,
            warnings=result.warnings,
            skipped=[
                admin_pb2.SkippedDraft(position=position, subject=subject)
                for position, subject in result.skipped
            ],
        )

    # ---------------------------------------------------------------- registers

    async def AddOfficer(
        self, request: admin_pb2.AddOfficerRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.AddOfficerResponse:
        return await self._registers.add_officer(request, context)

    async def RemoveOfficer(
        self, request: admin_pb2.RemoveOfficerRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RemoveOfficerResponse:
        return await self._registers.remove_officer(request, context)

    async def ListOfficers(
        self, request: admin_pb2.ListOfficersRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListOfficersResponse:
        return await self._registers.list_officers(request, context)

    async def AddCaseParty(
        self, request: admin_pb2.AddCasePartyRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.AddCasePartyResponse:
        return await self._registers.add_case_party(request, context)

    async def RemoveCaseParty(
        self, request: admin_pb2.RemoveCasePartyRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RemoveCasePartyResponse:
        return await self._registers.remove_case_party(request, context)

    async def ListCaseParties(
        self, request: admin_pb2.ListCasePartiesRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListCasePartiesResponse:
        return await self._registers.list_case_parties(request, context)

    # ---------------------------------------------------------------- peers

    async def AddPeer(
        self, request: admin_pb2.AddPeerRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.AddPeerResponse:
        p = request.peer
        host, sep, port = p.address.rpartition(":")
        if not NODE_ID_RE.fullmatch(p.node_id):
            await refuse(
                context,
                "peer_id",
                "format",
                f"must match {NODE_ID}",
                zh=f"须为小写字母、数字和连字符，以字母或数字开头，至多63个字符（{NODE_ID}）",
            )
        if not sep or not host or not port.isdigit():
            await refuse(
                context, "address", "format", "must be HOST:PORT", zh="须为“主机:端口”（HOST:PORT）"
            )
        if p.node_id == self._config.node_id:
            await refuse(
                context,
                "peer_id",
                "self",
                "a node cannot peer with itself",
                zh=f"不得是本节点自身（{self._config.node_id}）",
            )
        for prefix in p.court_prefixes:
            if not COURT_PREFIX_RE.fullmatch(prefix):
                await refuse(
                    context,
                    "court_prefixes",
                    "format",
                    "each must be a court code prefix like 川01",
                    zh=f"每个均须为法院代码前缀：省级简称加0至4位数字，如 川01（{ANHAO}）",
                )
            if (problem := prefix_problem(prefix)) is not None:
                await refuse(
                    context,
                    "court_prefixes",
                    "unknown_court",
                    problem,
                    zh=f"法院代码登记表中没有以{prefix}开头的法院（{ANHAO}）",
                )
        peer = PeerRecord(p.node_id, p.address, tuple(p.court_prefixes))
        await self._check_peer(context, peer, allow_unreachable=request.allow_unreachable)
        await self._links.add_peer(peer)
        return admin_pb2.AddPeerResponse()

    async def _check_peer(
        self, context: grpc.aio.ServicerContext, peer: PeerRecord, *, allow_unreachable: bool
    ) -> None:
        """Refuse a peer whose address serves another node now, when the admin is there to
        read why, rather than store it and fail every reconnect with a handshake error."""
        check = await self._links.check_peer(peer, PEER_CHECK_TIMEOUT_S)
        if check.served_by:
            explanation = f"{peer.address} serves node {check.served_by}, not {peer.node_id}"
            await refuse(
                context,
                "address",
                "identity",
                explanation,
                zh=f"{peer.address} 上运行的是节点 {check.served_by}，不是 {peer.node_id}",
                code=grpc.StatusCode.FAILED_PRECONDITION,
            )
        if check.unreachable and not allow_unreachable:
            explanation = (
                f"cannot reach {peer.node_id} at {peer.address} ({check.unreachable}); "
                "add it anyway if it is down"
            )
            await refuse(
                context,
                "address",
                "reachable",
                explanation,
                zh=(
                    f"无法连接 {peer.address} 上的节点 {peer.node_id}（{check.unreachable}）；"
                    "对端暂时停机的，可加 --force 先行添加"
                ),
                code=grpc.StatusCode.FAILED_PRECONDITION,
            )

    async def RemovePeer(
        self, request: admin_pb2.RemovePeerRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RemovePeerResponse:
        return admin_pb2.RemovePeerResponse(removed=await self._links.remove_peer(request.node_id))

    async def _peer_statuses(self) -> list[admin_pb2.PeerStatus]:
        vector = await self._db.read(self._db.store.vector)
        return self._peer_statuses_of(vector, await self._db.read(self._db.store.peers))

    def _peer_statuses_of(
        self, vector: dict[str, int], peers: list[PeerRecord]
    ) -> list[admin_pb2.PeerStatus]:
        out = []
        for peer in peers:
            st = self._links.status(peer.node_id)
            sizes = st.peer_sizes if st else {}
            out.append(
                admin_pb2.PeerStatus(
                    peer=admin_pb2.Peer(
                        node_id=peer.node_id,
                        address=peer.address,
                        court_prefixes=peer.court_prefixes,
                    ),
                    connected=bool(st and st.connected),
                    last_error=st.last_error if st else "",
                    last_contact_unix_ms=st.last_contact_unix_ms if st else 0,
                    peer_sizes=sizes,
                    lag={o: n - vector.get(o, 0) for o, n in sizes.items() if n > vector.get(o, 0)},
                )
            )
        return out

    async def ListPeers(
        self, request: admin_pb2.ListPeersRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListPeersResponse:
        return admin_pb2.ListPeersResponse(peers=await self._peer_statuses())

    # ---------------------------------------------------------------- agencies

    async def AddAgency(
        self, request: admin_pb2.AddAgencyRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.AddAgencyResponse:
        a = request.agency
        if not NODE_ID_RE.fullmatch(a.name):
            await refuse(
                context,
                "agency.name",
                "format",
                f"must match {NODE_ID}",
                zh=f"须为小写字母、数字和连字符，以字母或数字开头，至多63个字符（{NODE_ID}）",
            )
        if not request.actor.strip():
            await refuse(
                context,
                "actor",
                "required",
                "name the officer who admits the agency",
                zh="必须填写准许该单位接入的承办人",
            )
        if not (a.rate_per_s >= 0 and a.rate_per_s < float("inf")):
            await refuse(
                context,
                "rate_per_s",
                "range",
                "calls per second, 0 for the default",
                zh="须为每秒次数，不得为负数；0 即采用默认值",
            )
        existing = {r.name for r in await self._db.read(self._db.store.agencies)}
        record = AgencyRecord(
            name=a.name,
            rate_per_s=a.rate_per_s or None,
            burst=a.burst or None,
            daily_quota=a.daily_quota or None,
            added_at_unix_ms=self._clock.now_ms(),
            added_by=request.actor.strip(),
        )
        await self._db.write(self._db.store.put_agency, record)
        return admin_pb2.AddAgencyResponse(replaced=a.name in existing)

    async def RemoveAgency(
        self, request: admin_pb2.RemoveAgencyRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RemoveAgencyResponse:
        removed = await self._db.write(self._db.store.remove_agency, request.name)
        if removed:
            self._agency_gate.forget(self._agency_uri(request.name))
        return admin_pb2.RemoveAgencyResponse(removed=removed)

    async def ListAgencies(
        self, request: admin_pb2.ListAgenciesRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListAgenciesResponse:
        out = []
        for r in await self._db.read(self._db.store.agencies):
            limits = effective_limits(r, self._agency_gate.config)
            out.append(
                admin_pb2.AgencyEntry(
                    name=r.name,
                    rate_per_s=r.rate_per_s or 0.0,
                    burst=r.burst or 0,
                    daily_quota=r.daily_quota or 0,
                    added_at_unix_ms=r.added_at_unix_ms,
                    added_by=r.added_by,
                    effective_rate_per_s=limits.rate_per_s,
                    effective_burst=limits.burst,
                    effective_daily_quota=limits.daily_quota,
                    used_today=self._agency_gate.used_today(self._agency_uri(r.name)),
                )
            )
        return admin_pb2.ListAgenciesResponse(agencies=out)

    def _agency_uri(self, name: str) -> str:
        return spiffe_uri(self._config.trust_domain, "agency", name) if name else ""

    # ---------------------------------------------------------------- blacklist

    async def _record_access(
        self, entries: list[str], actor: str, purpose: str, what: str, identifier: str
    ) -> None:
        await record_access(
            self._appender, entries, actor=actor, purpose=purpose, what=what, identifier=identifier
        )

    async def _check_reveal(
        self, context: grpc.aio.ServicerContext, reveal: bool, actor: str, purpose: str
    ) -> None:
        if reveal and (not actor.strip() or not purpose.strip()):
            await refuse(
                context,
                "reveal",
                "recorded_read",
                "unmasked personal data needs an actor and a purpose (it is recorded)",
                zh=f"显示未隐去的个人信息须写明承办人（--actor）和事由（--purpose），并予记录（{PIPL}）",
            )
        if reveal:
            await require_officer(
                self._db,
                self._config.court_prefixes,
                actor,
                context,
                clock=self._clock,
                method="Admin.Blacklist",
            )

    async def BlacklistSearch(
        self, request: admin_pb2.BlacklistSearchRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.BlacklistSearchResponse:
        await self._check_reveal(context, request.reveal, request.actor, request.purpose)
        equals: dict[str, Any] = {}
        prefix: dict[str, str] = {}
        if request.id_number:
            equals["id_key"] = request.id_number.strip().upper()
        if request.name:
            prefix["name"] = request.name.strip()
        if request.origin:
            equals["origin"] = request.origin
            # One origin's listings are one range of keys ("<origin>/bl/<index>"), which the
            # primary key serves (the table has no origin index).
            prefix["key"] = bl_fold.subject_prefix(request.origin)
        if request.status:
            equals["status"] = request.status
        as_of, above, below = await self._expiring_filter(request, context, equals)
        limit = min(request.limit or 100, LIMIT_MAX)
        rep_hits: list[admin_pb2.RepresentativeHit] = []
        if request.id_number and not request.origin and as_of is None:
            # `blacklist check --id`: the check every reader shares (Agency.Check too); by ID
            # alone (no name) it also finds the listed organisations whose consumption
            # restriction binds that person. One trip to a reader thread for both.
            id_key = normalised_id(request.id_number)
            found, check = await self._db.read(
                _by_id,
                self._db.store,
                id_key,
                {request.status} if request.status else STATUSES,
                representatives=not request.name,
            )
            hits = [r for r in found[id_key] if r["name"].startswith(prefix.get("name", ""))]
            total = len(hits)
            rows = hits[request.offset : request.offset + limit]
            rep_hits = [
                admin_pb2.RepresentativeHit(
                    item=listing_item(hit.listing), representative=hit.representative
                )
                for hit in check.as_representative
            ]
        else:
            rows, total = await self._db.read(
                self._db.store.query_rows,
                RowQuery(
                    table=bl_fold.TABLE,
                    equals=equals,
                    prefix=prefix,
                    above=above,
                    below=below,
                    limit=limit,
                    offset=request.offset,
                ),
            )
        items = [listing_item(bl_fold.state_of(r)) for r in rows]
        if as_of is not None:
            for i in items:
                with_term_view(i, as_of)
        if request.reveal and (items or rep_hits):
            await self._record_access(
                [i.entry_id for i in items] + [h.item.entry_id for h in rep_hits],
                request.actor,
                request.purpose,
                "blacklist record",
                request.id_number.strip().upper(),
            )
        else:
            items = [masked_item(i, self._masks) for i in items]
            for hit in rep_hits:
                hit.item.CopyFrom(masked_item(hit.item, self._masks))
                hit.representative.id_number = mask_id(
                    hit.representative.id_number, self._masks.resident_id
                )
        return admin_pb2.BlacklistSearchResponse(
            items=items,
            total=total,
            as_of=as_of.isoformat() if as_of else "",
            representative_hits=rep_hits,
        )

    async def _expiring_filter(
        self,
        request: admin_pb2.BlacklistSearchRequest,
        context: grpc.aio.ServicerContext,
        equals: dict[str, Any],
    ) -> tuple[dt.date | None, dict[str, str], dict[str, str]]:
        """An expiring search's day and term-end range (None, {}, {} for any other search); it
        sets ``equals["status"]`` to "listed".

        Listed rows with a term end ("" > nothing) before the first day left out: what
        ``expiring_term_ends_before`` says, served by the index on status and term end."""
        if not request.expiring_within_days:
            if request.as_of:
                await refuse(
                    context,
                    "as_of",
                    "expiring",
                    "applies to an expiring search only",
                    zh="仅用于查询即将届满的名单（--expiring）",
                )
            return None, {}, {}
        if request.status not in ("", "listed"):
            await refuse(
                context,
                "status",
                "expiring",
                "an expiring search finds listed entries only",
                zh="查询即将届满的名单（--expiring）时只能为 listed",
            )
        as_of = await as_of_day(context, request.as_of, self._clock)
        equals["status"] = "listed"
        ends_before = bl_rules.expiring_term_ends_before(as_of, request.expiring_within_days)
        below = {"term_end_on": ends_before.isoformat()} if ends_before else {}
        return as_of, {"term_end_on": ""}, below

    async def BlacklistGet(
        self, request: admin_pb2.BlacklistGetRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.BlacklistGetResponse:
        await self._check_reveal(context, request.reveal, request.actor, request.purpose)
        rows = await self._db.read(self._db.store.get_rows, bl_fold.TABLE, [request.subject])
        row = rows.get(request.subject)
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no listing {request.subject}")
            raise AssertionError("unreachable")
        item = listing_item(bl_fold.state_of(row))
        entries = await self._db.read(self._db.store.entries_by_subject, [request.subject])
        history = [
            admin_pb2.HistoryEvent(
                entry_id=f"{e.origin}/{e.index}",
                kind=log_pb2.EntryKind.ValueType(e.kind),
                actor=e.actor,
                hlc=e.hlc,
            )
            for e in sorted(entries, key=lambda e: (e.origin, e.index))
        ]
        if request.reveal:
            await self._record_access(
                [item.entry_id], request.actor, request.purpose, "blacklist record", row["id_key"]
            )
        else:
            item = masked_item(item, self._masks)
        purged = await purges_of(
            self._db, [(e.origin, e.index) for e in entries if e.payload is None]
        )
        return admin_pb2.BlacklistGetResponse(item=item, history=history, purged=purged)

    # ---------------------------------------------------------------- sync, verification

    async def SyncStatus(
        self, request: admin_pb2.SyncStatusRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.SyncStatusResponse:
        # Every read in one trip to a reader thread: the status is polled (every 50 ms by a
        # catch-up benchmark), and a trip costs more than the small read it makes.
        status = await self._db.read(self._status_reads)
        origins = []
        for s in status.states:
            cos = status.cosignatures[s.origin]
            origins.append(
                admin_pb2.OriginStatus(
                    origin=s.origin,
                    size=s.size,
                    root=s.root,
                    checkpoint=s.checkpoint_note,
                    frozen=s.frozen,
                    frozen_reason=s.frozen_reason,
                    cosigned_by=[w for w, _ in cos],
                )
            )
        return admin_pb2.SyncStatusResponse(
            node_id=self._config.node_id,
            vkey=self._signer.vkey(),
            origins=origins,
            peers=self._peer_statuses_of(status.vector, status.peers),
            evidence_count=status.evidence_count,
            refusal_count=status.refusal_count,
        )

    def _status_reads(self) -> _StatusReads:
        """What SyncStatus reports from the store (blocking: a reader thread)."""
        store = self._db.store
        states = sorted(store.origin_states(), key=lambda s: s.origin)
        return _StatusReads(
            states=states,
            cosignatures={s.origin: store.cosignatures(s.origin, s.size) for s in states},
            evidence_count=len(store.evidence()),
            vector=store.vector(),
            peers=store.peers(),
            refusal_count=store.refusal_count(),
        )

    async def Verify(
        self, request: admin_pb2.VerifyRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.VerifyResponse:
        verifiers = {
            o: v for o in self._keys.certificates() if (v := self._keys.verifier(o)) is not None
        }
        verifiers[self._config.node_id] = self._signer.verifier()
        report = await self._db.read(
            verify_store,
            self._db.store,
            trust_domain=self._config.trust_domain,
            verifiers=verifiers,
            origins=list(request.origins),
        )
        return report_pb(report, list(request.origins))

    async def Refusals(
        self, request: admin_pb2.RefusalsRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RefusalsResponse:
        rows, next_offset = await refusals_page(self._db, request.limit, request.offset)
        return admin_pb2.RefusalsResponse(
            refusals=[admin_pb2.Refusal(**refusal_fields(r)) for r in rows],
            next_offset=next_offset,
        )

    async def Evidence(
        self, request: admin_pb2.EvidenceRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.EvidenceResponse:
        return admin_pb2.EvidenceResponse(
            evidence=[evidence_pb(e) for e in await self._db.read(self._db.store.evidence)]
        )

    # ---------------------------------------------------------------- payload retention

    async def RetentionStatus(
        self, request: admin_pb2.RetentionStatusRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RetentionStatusResponse:
        day = await as_of_day(context, request.as_of, self._clock)
        settings = self._config.retention
        rules = await self._db.read(retention_status, self._db.store, settings, day)
        return admin_pb2.RetentionStatusResponse(
            rules=[
                admin_pb2.RetentionRule(
                    rule=r.rule,
                    days=r.days,
                    closed_by=r.closed_by,
                    due=r.due,
                    purged=r.purged,
                    next_due_on=r.next_due_on,
                )
                for r in rules
            ],
            as_of=day.isoformat(),
            today=today(self._clock).isoformat(),
            enabled=settings.enabled,
            interval_s=settings.interval_s,
        )


def report_pb(report: Any, origins: list[str]) -> admin_pb2.VerifyResponse:
    """Convert a verify_store report (duck-typed: ok, verified_sizes, problems)."""
    problems = [
        admin_pb2.VerifyProblem(
            origin=p.origin, index=p.index if p.index is not None else 0, reason=p.reason
        )
        for p in report.problems
        if not origins or p.origin in origins
    ]
    return admin_pb2.VerifyResponse(
        ok=not problems, verified_sizes=dict(report.verified_sizes), problems=problems
    )
