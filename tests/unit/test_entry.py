"""Tests for sync.entry (header bytes, digests, validation) and sync.payload (kind ⇄ body)."""

from __future__ import annotations

import hashlib

import pytest

from ccnode.v1 import log_pb2, payloads_pb2
from sync.entry import (
    AUDIENCE_MAX,
    HEADER_BYTES_MAX,
    PARENTS_MAX,
    PAYLOAD_BYTES_MAX,
    SUBJECT_CHARS_MAX,
    Entry,
    EntryError,
    check_entry,
    decode_header,
    entry_id,
    entry_size_bytes,
    make_entry,
    parse_entry_id,
    payload_digest,
    redact_for,
)
from sync.payload import PayloadError, body_name, decode_payload, encode_payload
from tests.unit.corefixtures import SAMPLE_ID_NUMBER, listed_payload, salt_for

SALT = salt_for("chengdu", 0)
PAYLOAD = b"payload bytes"


def _entry(**overrides: object) -> Entry:
    fields: dict[str, object] = {
        "origin": "chengdu",
        "index": 7,
        "kind": log_pb2.BLACKLIST_LISTED,
        "subject": "chengdu/bl/42",
        "actor": "clerk-7",
        "hlc": 123 << 16,
        "payload": PAYLOAD,
        "salt": SALT,
    }
    fields.update(overrides)
    return make_entry(**fields)  # type: ignore[arg-type]


def _header_bytes(**overrides: object) -> bytes:
    """EntryHeader bytes written directly, bypassing make_entry's checks."""
    fields: dict[str, object] = {
        "version": 1,
        "origin": "chengdu",
        "index": 0,
        "kind": log_pb2.BLACKLIST_LISTED,
        "subject": "chengdu/bl/0",
        "actor": "clerk-7",
        "payload_digest": bytes(32),
    }
    fields.update(overrides)
    return log_pb2.EntryHeader(**fields).SerializeToString()  # type: ignore[arg-type]


# ---------------------------------------------------------------- encoding and hashes


def test_make_then_decode_round_trips_every_field() -> None:
    entry = _entry(audience=("kunming", "chongqing", "kunming"), parents=("chongqing/3",))
    header = decode_header(entry.header)
    assert header.origin == "chengdu"
    assert header.index == 7
    assert header.kind == log_pb2.BLACKLIST_LISTED
    assert header.subject == "chengdu/bl/42"
    assert header.actor == "clerk-7"
    assert header.hlc == 123 << 16
    assert header.audience == ("chongqing", "kunming")  # sorted, duplicates dropped
    assert header.parents == ("chongqing/3",)
    assert header.payload_size_bytes == len(PAYLOAD)
    assert header.entry_id == "chengdu/7"
    assert entry.salt == SALT
    assert entry.payload == PAYLOAD


def test_leaf_hash_is_sha256_of_zero_byte_and_header_bytes() -> None:
    entry = _entry()
    assert entry.leaf_hash() == hashlib.sha256(b"\x00" + entry.header).digest()


def test_payload_digest_is_sha256_of_salt_then_payload() -> None:
    entry = _entry()
    expected = hashlib.sha256(SALT + PAYLOAD).digest()
    assert payload_digest(SALT, PAYLOAD) == expected
    assert decode_header(entry.header).payload_digest == expected


def test_make_entry_is_deterministic() -> None:
    assert _entry() == _entry()


def test_redaction_drops_only_the_payload_and_keeps_the_leaf_hash() -> None:
    entry = _entry()
    redacted = entry.redacted()
    assert redacted.payload is None
    assert (redacted.header, redacted.salt) == (entry.header, entry.salt)
    assert redacted.leaf_hash() == entry.leaf_hash()
    check_entry(redacted, decode_header(redacted.header))  # a header alone still checks
    assert entry_size_bytes(redacted) == len(entry.header) + len(entry.salt)


def test_empty_payload_is_allowed() -> None:
    entry = _entry(payload=b"")
    check_entry(entry, decode_header(entry.header))


# ---------------------------------------------------------------- check_entry


def test_check_entry_accepts_a_well_formed_entry() -> None:
    entry = _entry()
    check_entry(entry, decode_header(entry.header))


def test_check_entry_rejects_a_flipped_payload_byte() -> None:
    entry = _entry()
    assert entry.payload is not None
    flipped = bytes([entry.payload[0] ^ 1]) + entry.payload[1:]
    with pytest.raises(EntryError, match=r"^payload: digest"):
        check_entry(Entry(entry.header, entry.salt, flipped), decode_header(entry.header))


def test_check_entry_rejects_a_payload_of_the_wrong_size() -> None:
    entry = _entry()
    with pytest.raises(EntryError, match=r"^payload: size"):
        check_entry(Entry(entry.header, entry.salt, PAYLOAD + b"!"), decode_header(entry.header))


def test_check_entry_rejects_another_salt_of_the_right_length() -> None:
    entry = _entry()
    with pytest.raises(EntryError, match=r"^payload: digest"):
        check_entry(Entry(entry.header, bytes(16), PAYLOAD), decode_header(entry.header))


@pytest.mark.parametrize("salt_bytes", [0, 15, 17])
def test_check_entry_rejects_a_salt_of_the_wrong_length(salt_bytes: int) -> None:
    entry = _entry()
    bad = Entry(entry.header, bytes(salt_bytes), None)  # even without a payload
    with pytest.raises(EntryError, match=r"^salt:"):
        check_entry(bad, decode_header(entry.header))


# ---------------------------------------------------------------- decode_header


@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x0a\x05ab", b"\x08"])
def test_decode_header_rejects_garbage(data: bytes) -> None:
    with pytest.raises(EntryError, match="not a valid EntryHeader"):
        decode_header(data)


@pytest.mark.parametrize("version", [0, 2])
def test_decode_header_rejects_other_versions(version: int) -> None:
    with pytest.raises(EntryError, match="unsupported version"):
        decode_header(_header_bytes(version=version))


def test_decode_header_rejects_the_empty_message() -> None:
    with pytest.raises(EntryError, match="unsupported version"):
        decode_header(b"")


@pytest.mark.parametrize("digest_bytes", [0, 31, 33])
def test_decode_header_rejects_a_digest_that_is_not_32_bytes(digest_bytes: int) -> None:
    with pytest.raises(EntryError, match="payload_digest must be 32 bytes"):
        decode_header(_header_bytes(payload_digest=bytes(digest_bytes)))


def test_decode_header_rejects_an_unspecified_kind() -> None:
    with pytest.raises(EntryError, match="kind is unspecified"):
        decode_header(_header_bytes(kind=log_pb2.ENTRY_KIND_UNSPECIFIED))


@pytest.mark.parametrize("origin", ["", "Chengdu", "-chengdu", "cheng/du", "a" * 64])
def test_decode_header_rejects_an_origin_that_is_not_a_node_id(origin: str) -> None:
    with pytest.raises(EntryError, match="origin is not a node id"):
        decode_header(_header_bytes(origin=origin))


def test_decode_header_rejects_an_oversized_header_before_parsing() -> None:
    big = _header_bytes(subject="x" * HEADER_BYTES_MAX)
    assert len(big) > HEADER_BYTES_MAX
    with pytest.raises(EntryError, match="larger than"):
        decode_header(big)
    # The size check comes first: even bytes that are not a header get the size error.
    with pytest.raises(EntryError, match="larger than"):
        decode_header(b"\xff" * (HEADER_BYTES_MAX + 1))


def test_decode_header_accepts_a_header_of_exactly_the_maximum_size() -> None:
    base = len(_header_bytes())
    # one parents element = tag (1) + 2-byte length + text once the text is >= 128 bytes
    text = "x" * (HEADER_BYTES_MAX - base - 3)
    exact = _header_bytes(parents=[text])
    assert len(exact) == HEADER_BYTES_MAX
    assert decode_header(exact).parents == (text,)


# ---------------------------------------------------------------- make_entry validation


@pytest.mark.parametrize("origin", ["", "Chengdu", "-chengdu", "cheng du", "cheng/du", "a" * 64])
def test_make_entry_rejects_a_bad_origin(origin: str) -> None:
    with pytest.raises(EntryError, match=r"^origin:"):
        _entry(origin=origin)


def test_make_entry_accepts_the_longest_origin() -> None:
    assert decode_header(_entry(origin="a" * 63).header).origin == "a" * 63


def test_make_entry_rejects_a_negative_index() -> None:
    with pytest.raises(EntryError, match=r"^index:"):
        _entry(index=-1)


@pytest.mark.parametrize("salt_bytes", [0, 15, 17, 32])
def test_make_entry_rejects_a_bad_salt(salt_bytes: int) -> None:
    with pytest.raises(EntryError, match=r"^salt:"):
        _entry(salt=bytes(salt_bytes))


def test_make_entry_rejects_an_oversized_payload() -> None:
    _entry(payload=bytes(PAYLOAD_BYTES_MAX))  # the limit itself is fine
    with pytest.raises(EntryError, match=r"^payload:"):
        _entry(payload=bytes(PAYLOAD_BYTES_MAX + 1))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", ""),
        ("subject", "s" * (SUBJECT_CHARS_MAX + 1)),
        ("subject", "chengdu/bl/1\n"),
        ("actor", ""),
        ("actor", "clerk\n7"),
        ("actor", "clerk\r7"),
        ("actor", "clerk\x007"),
        ("actor", "a" * 201),
    ],
)
def test_make_entry_rejects_bad_text_fields(field: str, value: str) -> None:
    with pytest.raises(EntryError, match=rf"^{field}: must be 1\.\.200 characters on one line"):
        _entry(**{field: value})


def test_make_entry_counts_characters_not_bytes() -> None:
    subject = "川" * SUBJECT_CHARS_MAX  # 600 UTF-8 bytes, 200 characters
    assert decode_header(_entry(subject=subject).header).subject == subject


def test_make_entry_error_names_the_field_never_the_value() -> None:
    with pytest.raises(EntryError) as err:
        _entry(actor=f"lookup {SAMPLE_ID_NUMBER}\n")
    assert SAMPLE_ID_NUMBER not in str(err.value)
    assert str(err.value).startswith("actor:")


def test_make_entry_audience_limit() -> None:
    ids = [f"node-{i}" for i in range(AUDIENCE_MAX + 1)]
    _entry(audience=ids[:AUDIENCE_MAX])
    with pytest.raises(EntryError, match=r"^audience:"):
        _entry(audience=ids)


@pytest.mark.parametrize("node_id", ["", "Kunming", "kun ming", "kunming/1"])
def test_make_entry_rejects_an_audience_member_that_is_not_a_node_id(node_id: str) -> None:
    with pytest.raises(EntryError, match=r"^audience:"):
        _entry(audience=("chongqing", node_id))


def test_make_entry_parents_limit() -> None:
    parents = [f"chongqing/{i}" for i in range(PARENTS_MAX + 1)]
    _entry(parents=parents[:PARENTS_MAX])
    with pytest.raises(EntryError, match=r"^parents:"):
        _entry(parents=parents)


@pytest.mark.parametrize(
    "parent", ["chengdu", "chengdu/", "/3", "chengdu/x", "Chengdu/3", "chengdu/-1", "a/b/3"]
)
def test_make_entry_rejects_a_bad_parent_id(parent: str) -> None:
    with pytest.raises(EntryError, match=r"^entry id:"):
        _entry(parents=("chongqing/1", parent))


def test_field_limits_keep_every_header_within_the_byte_limit() -> None:
    # Every field at its own limit: the header still fits, so relays never meet one too big.
    audience = [f"{c}" * 63 for c in "abcdefghijklmnop"]
    parents = [f"{c}" * 63 + "/9223372036854775807" for c in "abcdefgh"]
    entry = _entry(subject="s" * 200, actor="a" * 200, audience=audience, parents=parents)
    assert len(entry.header) <= HEADER_BYTES_MAX


# ---------------------------------------------------------------- audience


def test_empty_audience_is_visible_to_every_node() -> None:
    header = decode_header(_entry().header)
    assert header.visible_to("chengdu")
    assert header.visible_to("anyone")


def test_audience_limits_who_may_hold_the_payload() -> None:
    header = decode_header(_entry(audience=("chengdu", "chongqing")).header)
    assert header.visible_to("chengdu")
    assert header.visible_to("chongqing")
    assert not header.visible_to("kunming")


def test_redact_for_keeps_payloads_only_inside_the_audience() -> None:
    public = _entry(index=0)
    private = _entry(index=1, audience=("chengdu", "chongqing"))
    pairs = [(e, decode_header(e.header)) for e in (public, private)]
    assert redact_for(pairs, "chongqing") == [public, private]
    assert redact_for(pairs, "kunming") == [public, private.redacted()]


# ---------------------------------------------------------------- entry ids


@pytest.mark.parametrize(
    ("origin", "index"), [("chengdu", 0), ("a", 1), ("node-9", 2**63 - 1), ("a" * 63, 12)]
)
def test_entry_id_round_trips(origin: str, index: int) -> None:
    text = entry_id(origin, index)
    assert text == f"{origin}/{index}"
    assert parse_entry_id(text) == (origin, index)


@pytest.mark.parametrize(
    "text", ["", "chengdu", "chengdu/", "/3", "chengdu/x", "chengdu/ 3", "chengdu/-1", "x/y/3"]
)
def test_parse_entry_id_rejects_malformed_ids(text: str) -> None:
    with pytest.raises(EntryError, match="entry id"):
        parse_entry_id(text)


def test_parse_entry_id_rejects_a_superscript_index_with_entry_error() -> None:
    with pytest.raises(EntryError):
        parse_entry_id("chengdu/²")


@pytest.mark.parametrize("text", ["chengdu/١", "chengdu/007"])
def test_parse_entry_id_accepts_only_canonical_ids(text: str) -> None:
    # Two spellings of one id would compare unequal as parent strings.
    with pytest.raises(EntryError):
        parse_entry_id(text)


# ---------------------------------------------------------------- payloads


def _listed() -> payloads_pb2.Payload:
    return payloads_pb2.Payload.FromString(listed_payload())


def test_every_entry_kind_has_the_payload_body_with_its_number() -> None:
    bodies = {
        f.number: f.name for f in payloads_pb2.Payload.DESCRIPTOR.oneofs_by_name["body"].fields
    }
    kinds = {v.number: v.name for v in log_pb2.EntryKind.DESCRIPTOR.values if v.number}
    assert set(bodies) == set(kinds)
    for number, kind_name in kinds.items():
        assert body_name(number) == bodies[number] == kind_name.lower()


def test_payload_round_trips() -> None:
    data = encode_payload(log_pb2.BLACKLIST_LISTED, _listed())
    assert decode_payload(log_pb2.BLACKLIST_LISTED, data) == _listed()


def test_encode_payload_is_deterministic() -> None:
    kind = log_pb2.BLACKLIST_LISTED
    assert encode_payload(kind, _listed()) == encode_payload(kind, _listed())


def test_encode_rejects_a_body_that_does_not_match_the_kind() -> None:
    with pytest.raises(PayloadError, match="does not match"):
        encode_payload(log_pb2.BLACKLIST_DELISTED, _listed())


def test_encode_rejects_a_payload_without_body() -> None:
    with pytest.raises(PayloadError, match="does not match"):
        encode_payload(log_pb2.BLACKLIST_LISTED, payloads_pb2.Payload())


@pytest.mark.parametrize("kind", [log_pb2.ENTRY_KIND_UNSPECIFIED, 99])
def test_kinds_without_a_body_are_rejected(kind: int) -> None:
    with pytest.raises(PayloadError, match="has no payload body"):
        encode_payload(kind, _listed())
    with pytest.raises(PayloadError, match="has no payload body"):
        decode_payload(kind, listed_payload())


def test_decode_rejects_a_body_that_does_not_match_the_kind() -> None:
    with pytest.raises(PayloadError, match="does not match"):
        decode_payload(log_pb2.BLACKLIST_CORRECTED, listed_payload())


@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x0a\x05ab", b"", b"\x08\x01"])
def test_decode_rejects_garbage(data: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_payload(log_pb2.BLACKLIST_LISTED, data)
