"""Tests for sync.note: C2SP signed notes with Ed25519 (c2sp.org/signed-note).

Official vectors come from golang.org/x/mod/sumdb/note (note.go docs and note_test.go, BSD-3):
the PeterNeumann / EnochRoot keys and signatures. The golden ccnode vector below was produced by
this implementation and is cross-checked against hashlib / cryptography directly.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.note import (
    ALG_ED25519,
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteError,
    NoteSignature,
    add_signatures,
    check_key_name,
    format_note,
    key_id,
    open_note,
    parse_note,
    parse_signature_line,
    sign_note,
)

# ---------------------------------------------------------------- golang.org/x/mod/sumdb/note

GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_B64 = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
ENOCH_B64 = (
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
)
PETER_SIG = f"— PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"— EnochRoot {ENOCH_B64}\n"

# ---------------------------------------------------------------- ccnode golden vector

SEED = bytes(range(32))
NAME = "chengyu.court/chengdu"
GOLDEN_PUBLIC_KEY_HEX = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
GOLDEN_KEY_ID_HEX = "8f053dbf"
GOLDEN_VKEY = "chengyu.court/chengdu+8f053dbf+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
GOLDEN_TEXT = "chengyu.court/chengdu\n3\notExCXuVZ6SzQeDzaX917MWO7GujhMlNk7Sb4kWX1cA=\n"
GOLDEN_NOTE = (
    GOLDEN_TEXT + "\n"
    "— chengyu.court/chengdu "
    "jwU9v0a++x6E1LZSDGPeLiooGDhVBsEF2wko9DgLxNgI0KMbKxR/whY7dgSbGeD5FxcVgsp38TVl+CklzSF6Ggm4mwc=\n"
)


def go_signer() -> Ed25519Signer:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert seed[0] == ALG_ED25519
    return Ed25519Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed[1:]))


def golden_signer() -> Ed25519Signer:
    return Ed25519Signer(NAME, Ed25519PrivateKey.from_private_bytes(SEED))


def signer_from_byte(name: str, byte: int) -> Ed25519Signer:
    return Ed25519Signer(name, Ed25519PrivateKey.from_private_bytes(bytes([byte]) * 32))


def reason_of(excinfo: pytest.ExceptionInfo[NoteError]) -> str:
    assert str(excinfo.value) == excinfo.value.reason
    return excinfo.value.reason


# ---------------------------------------------------------------- exact byte layout


def test_key_id_is_truncated_sha256_of_name_newline_type_and_key() -> None:
    public_key = bytes.fromhex(GOLDEN_PUBLIC_KEY_HEX)
    expected = hashlib.sha256(NAME.encode() + b"\n\x01" + public_key).digest()[:4]
    assert key_id(NAME, ALG_ED25519, public_key) == expected
    assert expected.hex() == GOLDEN_KEY_ID_HEX
    # A different type byte gives a different ID: key IDs are domain-separated by type.
    assert key_id(NAME, 0x04, public_key) != expected


def test_golden_signer_key_id_and_vkey() -> None:
    signer = golden_signer()
    assert signer.name == NAME
    assert signer.public_key_bytes.hex() == GOLDEN_PUBLIC_KEY_HEX
    assert signer.key_id.hex() == GOLDEN_KEY_ID_HEX
    assert signer.vkey() == GOLDEN_VKEY
    name, kid_hex, key_b64 = GOLDEN_VKEY.split("+", 2)
    assert (name, kid_hex) == (NAME, GOLDEN_KEY_ID_HEX)
    assert base64.b64decode(key_b64) == b"\x01" + bytes.fromhex(GOLDEN_PUBLIC_KEY_HEX)


def test_golden_note_is_byte_exact_and_independently_verifiable() -> None:
    assert sign_note(GOLDEN_TEXT, golden_signer()) == GOLDEN_NOTE
    # Re-check layout with nothing but base64 and cryptography.
    line = GOLDEN_NOTE.split("\n\n", 1)[1]
    assert line.startswith("\u2014 " + NAME + " ") and line.endswith("\n")
    raw = base64.b64decode(line.rsplit(" ", 1)[1])
    assert len(raw) == 4 + 64
    assert raw[:4].hex() == GOLDEN_KEY_ID_HEX
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(GOLDEN_PUBLIC_KEY_HEX))
    public_key.verify(raw[4:], GOLDEN_TEXT.encode())  # raises if wrong


def test_go_signing_vector_is_byte_exact() -> None:
    signer = go_signer()
    assert signer.vkey() == PETER_VKEY
    assert sign_note(GO_TEXT, signer) == GO_TEXT + "\n" + PETER_SIG


def test_go_verifier_keys_parse_and_round_trip() -> None:
    for vkey in (PETER_VKEY, ENOCH_VKEY):
        verifier = Ed25519Verifier.from_vkey(vkey)
        assert verifier.vkey() == vkey
    peter = Ed25519Verifier.from_vkey(PETER_VKEY)
    assert peter.name == "PeterNeumann"
    assert peter.key_id == bytes.fromhex("c74f20a3")


def test_verifier_key_from_transparency_dev_parses() -> None:
    # From github.com/transparency-dev/formats note tests: a plain Ed25519 (type 0x01) vkey.
    vkey = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    assert Ed25519Verifier.from_vkey(vkey).vkey() == vkey


# ---------------------------------------------------------------- open: Go's TestOpen cases


def test_open_keeps_known_signature_and_ignores_unknown_one() -> None:
    note = open_note(
        GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [Ed25519Verifier.from_vkey(PETER_VKEY)]
    )
    assert note.text == GO_TEXT
    assert [(s.name, s.key_id.hex()) for s in note.signatures] == [("PeterNeumann", "c74f20a3")]


def test_open_with_both_keys_keeps_both_in_order() -> None:
    verifiers = [Ed25519Verifier.from_vkey(ENOCH_VKEY), Ed25519Verifier.from_vkey(PETER_VKEY)]
    note = open_note((GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode(), verifiers)
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert format_note(note) == GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG


def test_open_without_any_known_key_is_rejected() -> None:
    with pytest.raises(NoteError) as excinfo:
        open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    assert reason_of(excinfo) == "note has no valid signature from a known key"


def test_signature_sharing_only_name_or_only_key_id_with_a_known_key_is_ignored() -> None:
    peter = Ed25519Verifier.from_vkey(PETER_VKEY)
    other_id = PETER_SIG.replace("x08g", "xxxx")  # same name, different key ID
    other_name = PETER_SIG.replace("PeterNeumann", "CarmenSandiego")  # same key ID
    for line in (other_id, other_name):
        with pytest.raises(NoteError, match="no valid signature"):
            open_note(GO_TEXT + "\n" + line, [peter])
        note = open_note(GO_TEXT + "\n" + line + PETER_SIG, [peter])
        assert [s.name for s in note.signatures] == ["PeterNeumann"]


def test_invalid_signature_from_known_key_rejects_the_note() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]  # Go's own mangling
    with pytest.raises(NoteError) as excinfo:
        open_note(GO_TEXT + "\n" + bad, [Ed25519Verifier.from_vkey(PETER_VKEY)])
    assert reason_of(excinfo) == "invalid signature by PeterNeumann"
    # Even when another known signature is valid.
    with pytest.raises(NoteError, match="invalid signature by PeterNeumann"):
        open_note(GO_TEXT + "\n" + PETER_SIG + bad, [Ed25519Verifier.from_vkey(PETER_VKEY)])


def test_identical_signature_lines_are_reported_once() -> None:
    msg = GO_TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG
    note = open_note(msg, [Ed25519Verifier.from_vkey(PETER_VKEY)])
    assert len(note.signatures) == 1


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (GO_TEXT, "blank line between text and signatures"),
        (GO_TEXT + "\n", "no signature lines"),
        (GO_TEXT + "\n" + PETER_SIG[:-1], "must end in a newline"),
        ("\x01" + GO_TEXT + "\n" + PETER_SIG, "control characters"),
        (GO_TEXT + "\n— Bad Name " + PETER_B64 + "\n", "signature line 1 signature"),
        (GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "signature line 2 must start"),
    ],
)
def test_go_malformed_messages_are_rejected(msg: str, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        open_note(msg, [Ed25519Verifier.from_vkey(PETER_VKEY)])


def test_invalid_utf8_is_rejected() -> None:
    with pytest.raises(NoteError, match="not valid UTF-8"):
        parse_note(b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode())
    with pytest.raises(NoteError, match="not valid UTF-8"):
        parse_note("\ud800" + GO_TEXT + "\n" + PETER_SIG)


def test_ambiguous_verifiers_are_an_error_only_when_used() -> None:
    peter_a = Ed25519Verifier.from_vkey(PETER_VKEY)
    peter_b = Ed25519Verifier.from_vkey(PETER_VKEY)
    enoch = Ed25519Verifier.from_vkey(ENOCH_VKEY)
    with pytest.raises(NoteError, match="ambiguous verifiers for key PeterNeumann\\+c74f20a3"):
        open_note(GO_TEXT + "\n" + PETER_SIG, [peter_a, enoch, peter_b])
    assert open_note(GO_TEXT + "\n" + ENOCH_SIG, [peter_a, enoch, peter_b]).signatures
    # The very same verifier object listed twice is not ambiguous.
    assert open_note(GO_TEXT + "\n" + PETER_SIG, [peter_a, peter_a]).signatures


# ---------------------------------------------------------------- rejection with a reason


def test_tampered_body_fails() -> None:
    tampered = GOLDEN_NOTE.replace("\n3\n", "\n4\n", 1)
    with pytest.raises(NoteError, match=f"invalid signature by {NAME}"):
        open_note(tampered, [golden_signer().verifier()])


def test_tampered_signature_fails() -> None:
    note = parse_note(GOLDEN_NOTE)
    sig = note.signatures[0]
    flipped = bytes([sig.signature[0] ^ 1]) + sig.signature[1:]
    bad = format_note(Note(note.text, (NoteSignature(sig.name, sig.key_id, flipped),)))
    with pytest.raises(NoteError, match=f"invalid signature by {NAME}"):
        open_note(bad, [golden_signer().verifier()])


@pytest.mark.parametrize(
    "b64",
    [
        PETER_B64[:-1],  # truncated inside the padding
        PETER_B64.rstrip("="),  # unpadded
        PETER_B64[:-2] + "N=",  # non-zero trailing bits (not canonical)
        "",  # empty
        "QUJD",  # three bytes: shorter than a key ID plus one byte
        "x08g/ZJ!",  # not base64
    ],
)
def test_bad_signature_base64_is_rejected(b64: str) -> None:
    with pytest.raises(NoteError, match="signature line 1"):
        parse_note(GO_TEXT + "\n— PeterNeumann " + b64 + "\n")


def test_signature_truncated_on_a_base64_group_boundary_fails_verification() -> None:
    truncated = f"— PeterNeumann {PETER_B64[:-4]}\n"  # still canonical base64, 2 bytes short
    assert len(parse_note(GO_TEXT + "\n" + truncated).signatures[0].signature) == 62
    with pytest.raises(NoteError, match="invalid signature by PeterNeumann"):
        open_note(GO_TEXT + "\n" + truncated, [Ed25519Verifier.from_vkey(PETER_VKEY)])


def test_missing_blank_line_is_rejected() -> None:
    with pytest.raises(NoteError, match="blank line between text and signatures"):
        parse_note(GOLDEN_TEXT + GOLDEN_NOTE.split("\n\n", 1)[1])


def test_blank_line_inside_body_is_rejected() -> None:
    with pytest.raises(NoteError, match="note text must not contain blank lines"):
        parse_note("first\n\nsecond\n\n" + PETER_SIG)
    with pytest.raises(NoteError, match="note text must not contain blank lines"):
        parse_note("\n\n" + PETER_SIG)
    # The c2sp.org/signed-note example poem has an interior blank line: our profile refuses it.
    spec_example = (
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\n"
        "ed è subito sera.\n\n"
        "— quasimodo.example/salvatore "
        "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
    )
    with pytest.raises(NoteError, match="blank lines"):
        parse_note(spec_example)
    with pytest.raises(NoteError, match="blank lines"):
        golden_signer().sign("a\n\nb\n")


@pytest.mark.parametrize(
    "name",
    ["", "a b", "a+b", "a\tb", "a\nb", "a\u00a0b", "a\u3000b", "a\u2028b", "a\x01b", "a\ud800"],
)
def test_bad_key_names_are_rejected(name: str) -> None:
    with pytest.raises(NoteError):
        check_key_name(name)
    with pytest.raises(NoteError):
        Ed25519Signer(name, Ed25519PrivateKey.from_private_bytes(SEED))
    with pytest.raises(NoteError):
        NoteSignature(name, b"\0" * 4, b"\0" * 64)


def test_bad_key_name_in_signature_line_is_rejected() -> None:
    line = "— chengyu+court " + PETER_B64 + "\n"
    with pytest.raises(NoteError, match="signature line 1 key name must not contain '\\+'"):
        parse_note(GOLDEN_TEXT + "\n" + line)


def test_oversized_input_is_rejected() -> None:
    big_text = ("x" * 1023 + "\n") * 1024  # exactly 1 MiB of text, plus the signature block
    msg = big_text + "\n" + PETER_SIG
    with pytest.raises(NoteError, match="larger than 1048576 bytes"):
        parse_note(msg)
    with pytest.raises(NoteError, match="larger than 1048576 bytes"):
        parse_note(msg.encode())
    # Multi-byte characters count in UTF-8 bytes, not code points.
    wide = ("界" * 1000 + "\n") * 350  # 350,350 characters, 1,050,350 bytes
    assert len(wide) < MAX_NOTE_BYTES < len(wide.encode())
    with pytest.raises(NoteError, match="larger than"):
        parse_note(wide + "\n" + PETER_SIG)
    with pytest.raises(NoteError, match="larger than"):
        golden_signer().sign(wide)


def test_too_many_signature_lines_are_rejected() -> None:
    peter = Ed25519Verifier.from_vkey(PETER_VKEY)
    assert open_note(GO_TEXT + "\n" + PETER_SIG * MAX_SIGNATURES, [peter]).signatures
    with pytest.raises(NoteError, match="more than 100 signature lines"):
        parse_note(GO_TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1))
    sig = parse_note(GO_TEXT + "\n" + PETER_SIG).signatures[0]
    with pytest.raises(NoteError, match="more than 100 signatures"):
        Note(GO_TEXT, (sig,) * (MAX_SIGNATURES + 1))


# ---------------------------------------------------------------- verifier keys


@pytest.mark.parametrize(
    ("vkey", "reason"),
    [
        ("PeterNeumann", "form <name>\\+<key id>\\+<key>"),
        ("PeterNeumann+c74f20a3", "form <name>\\+<key id>\\+<key>"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "verifier key name"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
        ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
        ("PeterNeumann+00000000+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "canonical base64"),
        ("PeterNeumann+c74f20a3+", "canonical base64"),
        # Go's own cases: wrong length key and unknown algorithm, each with an adjusted key ID.
        (  # Go decodes "EY==" leniently; its trailing bits are not zero, so not canonical here
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "canonical base64",
        ),
        (  # a canonical 36-byte key with a matching key ID
            "PeterNeumann+9df26f18+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEA==",
            "public key must be 32 bytes",
        ),
        (
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "signature type 0x65, want 0x01",
        ),
    ],
)
def test_malformed_verifier_keys_are_rejected(vkey: str, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        Ed25519Verifier.from_vkey(vkey)


def test_every_substring_and_single_character_change_of_a_vkey_is_rejected() -> None:
    # Mirrors Go's TestNewVerifier mangling loop.
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteError):
                    Ed25519Verifier.from_vkey(PETER_VKEY[i:j])
    for i, ch in enumerate(PETER_VKEY):
        with pytest.raises(NoteError):
            Ed25519Verifier.from_vkey(PETER_VKEY[:i] + chr(ord(ch) + 1) + PETER_VKEY[i + 1 :])


def test_verifier_rejects_bad_public_key_length() -> None:
    with pytest.raises(NoteError, match="32 bytes"):
        Ed25519Verifier(NAME, b"\x01" * 31)


def test_verifier_answers_false_for_another_keys_signature() -> None:
    peter = Ed25519Verifier.from_vkey(PETER_VKEY)
    sig = go_signer().sign(GO_TEXT)
    assert peter.verify(GO_TEXT, sig)
    assert not peter.verify(GO_TEXT, NoteSignature("Other", sig.key_id, sig.signature))
    assert not peter.verify(GO_TEXT, NoteSignature(sig.name, b"\0" * 4, sig.signature))
    assert not peter.verify(GO_TEXT, NoteSignature(sig.name, sig.key_id, sig.signature[:-1]))
    assert not peter.verify("\ud800\n", sig)


# ---------------------------------------------------------------- round trips and API


def test_parse_format_round_trip_is_exact() -> None:
    msg = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    note = parse_note(msg)
    assert note.text == GO_TEXT
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert note.signatures[0].key_id == bytes.fromhex("c74f20a3")
    assert len(note.signatures[0].signature) == 64
    assert format_note(note) == msg
    assert parse_note(msg.encode()) == note


def test_sign_then_open_round_trip_with_two_signers() -> None:
    a, b = signer_from_byte("a.example/one", 1), signer_from_byte("b.example/two", 2)
    text = "line one\nline two — with unicode 川\n"
    msg = sign_note(text, a, b)
    note = open_note(msg, [a.verifier(), b.verifier()])
    assert note.text == text
    assert [s.name for s in note.signatures] == ["a.example/one", "b.example/two"]
    assert [s.name for s in open_note(msg, [b.verifier()]).signatures] == ["b.example/two"]


def test_format_note_needs_a_signature() -> None:
    with pytest.raises(NoteError, match="at least one signature"):
        format_note(Note(GO_TEXT, ()))


@pytest.mark.parametrize("text", ["", "no newline", "\n", "a\x00b\n", "a\rb\n"])
def test_invalid_texts_cannot_be_signed(text: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, golden_signer())


def test_sign_note_needs_a_signer() -> None:
    with pytest.raises(NoteError, match="at least one signer"):
        sign_note(GOLDEN_TEXT)


def test_same_signer_twice_gives_one_line() -> None:
    signer = golden_signer()
    assert sign_note(GOLDEN_TEXT, signer, signer) == GOLDEN_NOTE


def test_cosignature_header_is_reserved_for_cosignatures() -> None:
    text = "cosignature/v1\ntime 1\nchengyu.court/chengdu\n0\nAAAA\n"
    signer = golden_signer()
    with pytest.raises(NoteError, match="cosignature/v1 header"):
        signer.sign(text)
    # Even a genuine Ed25519 signature over such a text is not accepted as a plain note.
    raw = Ed25519PrivateKey.from_private_bytes(SEED).sign(text.encode())
    assert not signer.verifier().verify(text, NoteSignature(NAME, signer.key_id, raw))


def test_add_signatures_appends_and_dedupes_identical_lines() -> None:
    enoch_sig = parse_note(GO_TEXT + "\n" + ENOCH_SIG).signatures[0]
    peter_sig = go_signer().sign(GO_TEXT)
    msg = add_signatures(GO_TEXT + "\n" + PETER_SIG, [enoch_sig, peter_sig, enoch_sig])
    assert msg == GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG


def test_note_error_is_a_value_error_with_reason() -> None:
    with pytest.raises(ValueError, match="blank line") as excinfo:
        parse_note("no signatures\n")
    assert isinstance(excinfo.value, NoteError)
    assert excinfo.value.reason == "note must have a blank line between text and signatures"


def test_signature_value_checks() -> None:
    with pytest.raises(NoteError, match="key ID must be 4 bytes"):
        NoteSignature(NAME, b"\0" * 3, b"\0")
    with pytest.raises(NoteError, match="non-empty bytes"):
        NoteSignature(NAME, b"\0" * 4, b"")


def test_key_id_rejects_out_of_range_type_byte() -> None:
    with pytest.raises(NoteError, match="one byte"):
        key_id(NAME, 256, b"\0" * 32)


def test_signer_repr_does_not_show_key_material() -> None:
    signer = golden_signer()
    assert repr(signer) == f"Ed25519Signer('{NAME}', key_id={GOLDEN_KEY_ID_HEX})"
    with pytest.raises(TypeError):
        Ed25519Signer(NAME, SEED)  # type: ignore[arg-type]


def test_parse_signature_line_round_trips_a_single_line() -> None:
    sig = parse_signature_line(PETER_SIG)
    assert sig == parse_signature_line(PETER_SIG[:-1])
    assert sig.line() == PETER_SIG
    assert Ed25519Verifier.from_vkey(PETER_VKEY).verify(GO_TEXT, sig)
    for bad in (PETER_SIG + ENOCH_SIG, PETER_SIG + "\n", "\x00" + PETER_SIG, "PeterNeumann x\n"):
        with pytest.raises(NoteError):
            parse_signature_line(bad)
