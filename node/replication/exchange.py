"""What nodes tell each other about the logs they hold: vectors, origin keys, checkpoints.

Both directions use it: a link's Hello and Subscribe (node.replication.links) and the
Federation service's answers (node.services.federation). Keys a peer relays are learned only
after the origin's log-signing certificate checks out (node.identity.origin_keys); a refused
key is recorded as a refusal: one row per call, with the count of the keys it refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from ccnode.v1 import federation_pb2, log_pb2
from node.identity.origin_keys import OriginKeyError, OriginKeys
from node.ports import CallerAuth
from node.replication.equivocation import evidence_pb
from node.store.base import EvidenceStore, KeyStore, LogReader
from node.store.runner import Db
from sync.checkpoint import Checkpoint, split_origin
from sync.domain.calendar import CALENDAR_VERSION
from sync.ids import NODE_ID_RE
from sync.note import Note, NoteError, format_note, parse_note

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
# Origin keys one Hello may carry: far more origins than a federation of regions has.
ORIGIN_KEYS_MAX = 256


class _ExchangeStore(LogReader, EvidenceStore, KeyStore, Protocol):
    """Reads sizes, checkpoints and evidence; stores learned origin keys."""


class Exchange:
    def __init__(
        self,
        *,
        db: Db[_ExchangeStore],
        keys: OriginKeys,
        auth: CallerAuth,
        node_id: str,
    ) -> None:
        self._db = db
        self._keys = keys
        self._auth = auth
        self.node_id = node_id

    async def vector_pb(self) -> federation_pb2.Vector:
        return federation_pb2.Vector(sizes=await self._db.read(self._db.store.vector))

    def origin_keys_pb(self) -> list[federation_pb2.OriginKey]:
        return [
            federation_pb2.OriginKey(origin=o, certificate_der=der)
            for o, der in sorted(self._keys.certificates().items())
        ]

    async def learn_keys(self, keys: Iterable[federation_pb2.OriginKey], source: str) -> None:
        """Learn the keys that check out; the refused ones of this call are one refusal row
        with their count. A key whose origin breaks the node-id rule, or past the first
        ``ORIGIN_KEYS_MAX`` of a call, is refused unchecked (no certificate parsed)."""
        refused: list[str] = []
        for i, k in enumerate(keys):
            if i >= ORIGIN_KEYS_MAX or not NODE_ID_RE.fullmatch(k.origin):
                refused.append("")
                continue
            try:
                await self._db.write(self._keys.learn, k.origin, k.certificate_der)
            except OriginKeyError:
                refused.append(k.origin)
        if refused:
            # The refusal's own log line is rate-limited; this one is for debugging only.
            log.debug("origin keys refused from %s: %s", source, sorted(set(refused))[:3])
            await self._auth.record("", source, "OriginKey", "bad_origin_key", count=len(refused))

    async def latest_checkpoints(
        self, origins: Sequence[str] = ()
    ) -> list[log_pb2.SignedCheckpoint]:
        states = await self._db.read(self._db.store.origin_states)
        return [
            log_pb2.SignedCheckpoint(note=s.checkpoint_note)
            for s in sorted(states, key=lambda s: s.origin)
            if s.checkpoint_note and (not origins or s.origin in origins)
        ]

    async def hello_request(self) -> federation_pb2.HelloRequest:
        return federation_pb2.HelloRequest(
            node_id=self.node_id,
            protocol_version=PROTOCOL_VERSION,
            vector=await self.vector_pb(),
            keys=self.origin_keys_pb(),
            calendar_version=CALENDAR_VERSION,
        )

    async def hello_response(self) -> federation_pb2.HelloResponse:
        return federation_pb2.HelloResponse(
            node_id=self.node_id,
            protocol_version=PROTOCOL_VERSION,
            vector=await self.vector_pb(),
            keys=self.origin_keys_pb(),
            checkpoints=await self.latest_checkpoints(),
            calendar_version=CALENDAR_VERSION,
        )

    async def checkpoints_response(
        self, origins: Sequence[str]
    ) -> federation_pb2.CheckpointsResponse:
        evidence = await self._db.read(self._db.store.evidence)
        return federation_pb2.CheckpointsResponse(
            checkpoints=await self.latest_checkpoints(origins),
            evidence=[evidence_pb(e) for e in evidence if not origins or e.origin in origins],
        )


def gossip_checkpoint(note: str) -> tuple[str, int, str] | None:
    """(origin node id, size, the note with its origin's signature only) of a held
    checkpoint note, for gossip: the cosignatures stay out (they are most of a note's bytes
    in a large mesh, and the receiver checks the origin's signature only). None if the note
    does not parse (a held note always does)."""
    try:
        parsed = parse_note(note)
        cp = Checkpoint.parse(parsed.text)
        _, origin = split_origin(cp.origin)
        own = tuple(s for s in parsed.signatures if s.name == cp.origin)
        return origin, cp.size, format_note(Note(parsed.text, own or parsed.signatures))
    except (NoteError, ValueError):
        return None
