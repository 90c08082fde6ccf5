"""Tests for sync.checkpoint: c2sp.org/tlog-checkpoint and Ed25519 cosignature/v1.

Public vectors: the checkpoint and cosignature examples of c2sp.org/tlog-checkpoint and
c2sp.org/tlog-cosignature, and keys / cosignatures from github.com/transparency-dev/formats
note tests. The golden ccnode vectors were produced by this implementation and are cross-checked
with hashlib / cryptography directly.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.checkpoint import (
    ALG_COSIGNATURE_V1,
    MAX_TIMESTAMP_S,
    MAX_TREE_SIZE,
    Checkpoint,
    CheckpointError,
    CosignatureSigner,
    CosignatureVerifier,
    add_signatures,
    cosignature_message,
    cosignature_timestamp,
    open_checkpoint,
    origin_line,
    sign_checkpoint,
    split_origin,
)
from sync.note import (
    Ed25519Signer,
    Ed25519Verifier,
    NoteError,
    NoteSignature,
    format_note,
    open_note,
    parse_note,
    sign_note,
)

# ---------------------------------------------------------------- public vectors

SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_ORIGIN_SIG = (
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
SPEC_COSIG = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2"
    "oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
SPEC_NOTE = SPEC_BODY + "\n" + SPEC_ORIGIN_SIG + SPEC_COSIG
# transparency-dev/formats note_cosigv1_test.go
TD_COSIG_B64 = (
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJ"
    "XORmnFBOBA=="
)
TD_ED25519_SIG_B64 = (
    "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY="
)
TD_COSIG_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
TD_ED25519_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"

# ---------------------------------------------------------------- ccnode golden vectors

ORIGIN = "chengyu.court/chengdu"
WITNESS = "chengyu.court/chongqing"
ROOT = hashlib.sha256(b"ccnode").digest()
GOLDEN_BODY = "chengyu.court/chengdu\n3\notExCXuVZ6SzQeDzaX917MWO7GujhMlNk7Sb4kWX1cA=\n"
GOLDEN_ORIGIN_LINE = (
    "— chengyu.court/chengdu "
    "jwU9v0a++x6E1LZSDGPeLiooGDhVBsEF2wko9DgLxNgI0KMbKxR/whY7dgSbGeD5FxcVgsp38TVl+CklzSF6Ggm4mwc=\n"
)
WITNESS_PUBLIC_KEY_HEX = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
WITNESS_VKEY = "chengyu.court/chongqing+3daa5833+BOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
COSIG_TIME_S = 1_700_000_000
GOLDEN_COSIG_LINE = (
    "— chengyu.court/chongqing PapYMwAAAABlU/EAEkRyJnQNqLhCA1sav+2176zwgbouq1VO0/EjCfM7h7nxaEzC5Kbz"
    "JBGyfzvZyYm+eeFZrLFbX+1v+NNPZu6fCg==\n"
)


def origin_signer() -> Ed25519Signer:
    return Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def witness_signer() -> CosignatureSigner:
    return CosignatureSigner(WITNESS, Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32))


def golden_checkpoint() -> Checkpoint:
    return Checkpoint(ORIGIN, 3, ROOT)


def sig_from_b64(name: str, b64: str) -> NoteSignature:
    raw = base64.b64decode(b64)
    return NoteSignature(name, raw[:4], raw[4:])


# ---------------------------------------------------------------- checkpoint body


def test_spec_checkpoint_body_parses_and_round_trips() -> None:
    cp = Checkpoint.parse(SPEC_BODY)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.extensions == ()
    assert cp.body() == SPEC_BODY
    assert split_origin(cp.origin) == ("example.com", "behind-the-sofa")


def test_golden_body_layout() -> None:
    cp = golden_checkpoint()
    assert cp.body() == GOLDEN_BODY
    assert cp.body() == f"{ORIGIN}\n3\n{base64.b64encode(ROOT).decode()}\n"


def test_extension_lines_round_trip() -> None:
    cp = Checkpoint(ORIGIN, 0, bytes(32), ("ext one", "ext — two"))
    assert cp.body().endswith("\next one\next — two\n")
    assert Checkpoint.parse(cp.body()) == cp
    assert Checkpoint(ORIGIN, 0, bytes(32), ["x"]).extensions == ("x",)  # type: ignore[arg-type]


def test_size_limits() -> None:
    assert Checkpoint.parse(f"{ORIGIN}\n0\n{base64.b64encode(bytes(32)).decode()}\n").size == 0
    body_max = f"{ORIGIN}\n{MAX_TREE_SIZE}\n{base64.b64encode(bytes(32)).decode()}\n"
    assert Checkpoint.parse(body_max).size == 2**63 - 1


ROOT_B64 = base64.b64encode(ROOT).decode()
URLSAFE_ROOT_B64 = base64.urlsafe_b64encode(bytes([0xFF]) * 32).decode()  # "_" and "-"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"{ORIGIN}\n03\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n00\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n+3\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n-3\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n 3\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n1_000\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n\u0663\n{ROOT_B64}\n", "without leading zeros"),  # Arabic-Indic digit 3
        (f"{ORIGIN}\n0x10\n{ROOT_B64}\n", "without leading zeros"),
        (f"{ORIGIN}\n{2**63}\n{ROOT_B64}\n", "tree size must be between 0 and 2\\^63 - 1"),
        (f"{ORIGIN}\n{10**19}\n{ROOT_B64}\n", "below 2\\^63"),
        (f"{ORIGIN}\n3\nnot base64!\n", "canonical standard base64"),
        (f"{ORIGIN}\n3\n{ROOT_B64.rstrip('=')}\n", "canonical standard base64"),
        (f"{ORIGIN}\n3\n{ROOT_B64[:-2]}B=\n", "canonical standard base64"),  # non-zero bits
        (f"{ORIGIN}\n3\n{URLSAFE_ROOT_B64}\n", "canonical standard base64"),
        (f"{ORIGIN}\n3\n{base64.b64encode(bytes(31)).decode()}\n", "root hash must be 32 bytes"),
        (f"{ORIGIN}\n3\n{base64.b64encode(bytes(33)).decode()}\n", "root hash must be 32 bytes"),
        (f"{ORIGIN}\n3\n", "origin, tree size and root hash lines"),
        (f"{ORIGIN}\n", "origin, tree size and root hash lines"),
        ("", "must end in a newline"),
        (f"{ORIGIN}\n3\n{ROOT_B64}", "must end in a newline"),
        (f"{ORIGIN}\n3\n{ROOT_B64}\n\n", "line 4 is empty"),
        (f"{ORIGIN}\n3\n{ROOT_B64}\next\n\n", "line 5 is empty"),
        (f"\n3\n{ROOT_B64}\n", "line 1 is empty"),
        (f"{ORIGIN}\n3\n{ROOT_B64}\nbad\x01ext\n", "control characters"),
        (f"Chengyu.court/chengdu\n3\n{ROOT_B64}\n", "trust domain"),
        (f"chengyu.court\n3\n{ROOT_B64}\n", "origin must have the form"),
    ],
)
def test_malformed_checkpoint_bodies_are_rejected(body: str, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason) as excinfo:
        Checkpoint.parse(body)
    assert excinfo.value.reason == str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


def test_oversized_checkpoint_body_is_rejected() -> None:
    ext = "x" * 1023
    with pytest.raises(CheckpointError, match="larger than"):
        Checkpoint.parse(GOLDEN_BODY + (ext + "\n") * 1024)
    with pytest.raises(CheckpointError, match="larger than"):
        Checkpoint(ORIGIN, 3, ROOT, (ext,) * 1024)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"size": -1}, "between 0 and"),
        ({"size": 2**63}, "between 0 and"),
        ({"size": True}, "must be an int"),
        ({"size": 3.0}, "must be an int"),
        ({"root": bytes(31)}, "32 bytes"),
        ({"root": "00" * 32}, "32 bytes"),
        ({"extensions": ("",)}, "extension line 1 must be a non-empty string"),
        ({"extensions": ("ok", "a\nb")}, "extension line 2 must not contain newlines"),
        ({"origin": "chengyu.court/Chengdu"}, "node id"),
    ],
)
def test_checkpoint_constructor_validates(kwargs: dict[str, object], reason: str) -> None:
    args: dict[str, object] = {"origin": ORIGIN, "size": 3, "root": ROOT, "extensions": ()}
    args.update(kwargs)
    with pytest.raises(CheckpointError, match=reason):
        Checkpoint(**args)  # type: ignore[arg-type]


# ---------------------------------------------------------------- origin lines


def test_origin_line_and_split_origin() -> None:
    assert origin_line("chengyu.court", "chengdu") == ORIGIN
    assert split_origin(ORIGIN) == ("chengyu.court", "chengdu")
    assert split_origin("localhost/a") == ("localhost", "a")
    assert split_origin("x1.example-court.cn/node-01") == ("x1.example-court.cn", "node-01")
    assert split_origin("a.court/" + "n" * 63) == ("a.court", "n" * 63)


@pytest.mark.parametrize(
    ("origin", "reason"),
    [
        ("chengyu.court", "origin must have the form"),
        ("chengyu.court/chengdu/x", "origin must have the form"),
        ("/chengdu", "trust domain"),
        ("chengyu.court/", "node id"),
        ("Chengyu.court/chengdu", "trust domain"),
        ("chengyu..court/chengdu", "trust domain"),
        ("chengyu.court./chengdu", "trust domain"),
        ("-chengyu.court/chengdu", "trust domain"),
        ("chengyu-.court/chengdu", "trust domain"),
        ("cheng_yu.court/chengdu", "trust domain"),
        ("成渝.court/chengdu", "trust domain"),
        (("a" * 64) + ".court/chengdu", "trust domain"),
        (".".join(["a" * 63] * 4) + "/chengdu", "1 to 253"),
        ("chengyu.court/Chengdu", "node id"),
        ("chengyu.court/-chengdu", "node id"),
        ("chengyu.court/cheng du", "node id"),
        ("chengyu.court/chengdu\n", "node id"),
        ("chengyu.court/" + "n" * 64, "node id"),
    ],
)
def test_bad_origins_are_rejected(origin: str, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        split_origin(origin)


def test_origin_line_validates_its_parts() -> None:
    with pytest.raises(CheckpointError, match="node id"):
        origin_line("chengyu.court", "a/b")
    with pytest.raises(CheckpointError, match="trust domain"):
        origin_line("chengyu.court/x", "a")


# ---------------------------------------------------------------- signed checkpoints


def test_golden_signed_checkpoint_is_byte_exact_and_opens() -> None:
    signer = origin_signer()
    signed = sign_checkpoint(golden_checkpoint(), signer)
    assert signed == GOLDEN_BODY + "\n" + GOLDEN_ORIGIN_LINE
    cp, note = open_checkpoint(signed, signer.verifier())
    assert cp == golden_checkpoint()
    assert note.text == GOLDEN_BODY
    assert [s.name for s in note.signatures] == [ORIGIN]


def test_sign_checkpoint_requires_the_origin_key_name() -> None:
    other = Ed25519Signer(WITNESS, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    with pytest.raises(CheckpointError, match="signer key name must equal the checkpoint origin"):
        sign_checkpoint(golden_checkpoint(), other)


def test_open_checkpoint_requires_verifier_named_as_origin() -> None:
    signer = origin_signer()
    signed = sign_checkpoint(golden_checkpoint(), signer)
    # The same key under another name: the key name must equal the origin line.
    misnamed = Ed25519Verifier(WITNESS, signer.public_key_bytes)
    with pytest.raises(CheckpointError, match="must equal the checkpoint origin"):
        open_checkpoint(signed, misnamed)


def test_open_checkpoint_rejects_another_key_claiming_the_origin_name() -> None:
    impostor = Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes([9]) * 32))
    forged = sign_checkpoint(golden_checkpoint(), impostor)
    with pytest.raises(NoteError, match="no valid signature from a known key"):
        open_checkpoint(forged, origin_signer().verifier())


def test_open_checkpoint_rejects_tampered_checkpoint() -> None:
    signed = sign_checkpoint(golden_checkpoint(), origin_signer())
    tampered = signed.replace("\n3\n", "\n4\n", 1)
    with pytest.raises(NoteError, match=f"invalid signature by {ORIGIN}"):
        open_checkpoint(tampered, origin_signer().verifier())


def test_open_checkpoint_rejects_a_note_that_is_not_a_checkpoint() -> None:
    signer = origin_signer()
    with pytest.raises(CheckpointError, match="origin, tree size and root hash"):
        open_checkpoint(sign_note("hello\n", signer), signer.verifier())


def test_open_checkpoint_needs_the_origin_signature_not_just_a_cosignature() -> None:
    witness = witness_signer()
    cosig = witness.cosign(GOLDEN_BODY, COSIG_TIME_S)
    only_cosigned = format_note(parse_note(GOLDEN_BODY + "\n" + cosig.line()))
    with pytest.raises(CheckpointError, match="not signed by its origin key"):
        open_checkpoint(only_cosigned, origin_signer().verifier(), [witness.verifier()])


# ---------------------------------------------------------------- cosignatures: public vectors


def test_spec_cosignature_layout_carries_the_spec_timestamp() -> None:
    note = parse_note(SPEC_NOTE)
    assert note.text == SPEC_BODY
    origin_sig, cosig = note.signatures
    assert origin_sig.name == "example.com/behind-the-sofa"
    assert len(origin_sig.signature) == 64  # plain Ed25519
    assert cosig.name == "witness.example.com/w1"
    assert len(cosig.signature) == 8 + 64  # timestamp || Ed25519
    assert cosignature_timestamp(cosig) == 1679315147  # the "time" line of the spec's example
    assert format_note(note) == SPEC_NOTE


def test_transparency_dev_cosignature_timestamp_vectors() -> None:
    assert cosignature_timestamp(sig_from_b64("w", TD_COSIG_B64)) == 1727964367
    with pytest.raises(NoteError, match="8-byte timestamp"):
        cosignature_timestamp(sig_from_b64("w", TD_ED25519_SIG_B64))


def test_transparency_dev_cosignature_vkey_parses() -> None:
    verifier = CosignatureVerifier.from_vkey(TD_COSIG_VKEY)
    assert verifier.name == "remora.n621.de"
    assert verifier.key_id == bytes.fromhex("da77ade7")
    assert verifier.vkey() == TD_COSIG_VKEY
    # A plain Ed25519 (type 0x01) vkey is not a cosignature key, and vice versa.
    with pytest.raises(NoteError, match="signature type 0x01, want 0x04"):
        CosignatureVerifier.from_vkey(TD_ED25519_VKEY)
    with pytest.raises(NoteError, match="signature type 0x04, want 0x01"):
        Ed25519Verifier.from_vkey(TD_COSIG_VKEY)


# ---------------------------------------------------------------- cosignatures: ours


def test_witness_key_id_and_vkey_use_type_0x04() -> None:
    witness = witness_signer()
    public_key = bytes.fromhex(WITNESS_PUBLIC_KEY_HEX)
    assert witness.public_key_bytes == public_key
    expected_id = hashlib.sha256(WITNESS.encode() + b"\n\x04" + public_key).digest()[:4]
    assert witness.key_id == expected_id
    assert witness.vkey() == WITNESS_VKEY
    assert base64.b64decode(WITNESS_VKEY.split("+", 2)[2])[0] == ALG_COSIGNATURE_V1
    assert CosignatureVerifier.from_vkey(WITNESS_VKEY).key_id == expected_id


def test_golden_cosignature_is_byte_exact_and_independently_verifiable() -> None:
    sig = witness_signer().cosign(GOLDEN_BODY, COSIG_TIME_S)
    assert sig.line() == GOLDEN_COSIG_LINE
    raw = base64.b64decode(GOLDEN_COSIG_LINE.rsplit(" ", 1)[1])
    assert len(raw) == 4 + 8 + 64
    assert raw[4:12] == COSIG_TIME_S.to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1700000000\n" + GOLDEN_BODY.encode()
    assert cosignature_message(GOLDEN_BODY, COSIG_TIME_S) == message
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(WITNESS_PUBLIC_KEY_HEX))
    public_key.verify(raw[12:], message)  # raises if wrong


def test_cosignature_verifies_and_reports_its_timestamp() -> None:
    witness = witness_signer()
    verifier = witness.verifier()
    sig = witness.cosign(GOLDEN_BODY, COSIG_TIME_S)
    assert verifier.verify(GOLDEN_BODY, sig)
    assert verifier.timestamp(sig) == COSIG_TIME_S
    assert not verifier.verify(SPEC_BODY, sig)  # another checkpoint


def test_checkpoint_with_origin_signature_and_cosignature_opens() -> None:
    witness = witness_signer()
    signed = sign_checkpoint(golden_checkpoint(), origin_signer())
    cosigned = add_signatures(signed, [witness.cosign(GOLDEN_BODY, COSIG_TIME_S)])
    assert cosigned == GOLDEN_BODY + "\n" + GOLDEN_ORIGIN_LINE + GOLDEN_COSIG_LINE
    cp, note = open_checkpoint(cosigned, origin_signer().verifier(), [witness.verifier()])
    assert cp == golden_checkpoint()
    assert [s.name for s in note.signatures] == [ORIGIN, WITNESS]
    # Without the witness key the cosignature is an unknown signature and is ignored.
    _, note = open_checkpoint(cosigned, origin_signer().verifier())
    assert [s.name for s in note.signatures] == [ORIGIN]
    # open_note with the cosigner alone also works: CosignatureVerifier fits the protocol.
    assert [s.name for s in open_note(cosigned, [witness.verifier()]).signatures] == [WITNESS]


def test_wrong_timestamp_fails() -> None:
    witness = witness_signer()
    sig = witness.cosign(GOLDEN_BODY, COSIG_TIME_S)
    shifted = (COSIG_TIME_S + 1).to_bytes(8, "big") + sig.signature[8:]
    forged = NoteSignature(sig.name, sig.key_id, shifted)
    assert not witness.verifier().verify(GOLDEN_BODY, forged)
    signed = add_signatures(sign_checkpoint(golden_checkpoint(), origin_signer()), [forged])
    with pytest.raises(NoteError, match=f"invalid signature by {WITNESS}"):
        open_checkpoint(signed, origin_signer().verifier(), [witness.verifier()])


def test_timestamp_above_2_pow_63_minus_1_fails() -> None:
    witness = witness_signer()
    sig = witness.cosign(GOLDEN_BODY, COSIG_TIME_S)
    huge = NoteSignature(sig.name, sig.key_id, (2**63).to_bytes(8, "big") + sig.signature[8:])
    assert not witness.verifier().verify(GOLDEN_BODY, huge)
    with pytest.raises(NoteError, match="exceeds"):
        cosignature_timestamp(huge)


def test_cosignature_covers_extension_lines() -> None:
    witness = witness_signer()
    cp = Checkpoint(ORIGIN, 3, ROOT, ("ext",))
    sig = witness.cosign(cp.body(), COSIG_TIME_S)
    assert witness.verifier().verify(cp.body(), sig)
    assert not witness.verifier().verify(cp.body().replace("ext", "exu"), sig)


def test_ed25519_note_signature_presented_as_cosignature_fails() -> None:
    seed = bytes([7]) * 32
    plain = Ed25519Signer(WITNESS, Ed25519PrivateKey.from_private_bytes(seed))
    verifier = witness_signer().verifier()
    assert plain.public_key_bytes == verifier.public_key_bytes
    assert plain.key_id != verifier.key_id  # type byte 0x01 vs 0x04
    note_sig = plain.sign(GOLDEN_BODY)
    # As is: its key ID is unknown to the cosignature verifier, so it is ignored.
    assert not verifier.verify(GOLDEN_BODY, note_sig)
    with pytest.raises(NoteError, match="no valid signature from a known key"):
        open_note(GOLDEN_BODY + "\n" + note_sig.line(), [verifier])
    # Relabelled with the cosignature key ID: it is known now and must fail verification.
    relabelled = NoteSignature(WITNESS, verifier.key_id, note_sig.signature)
    assert not verifier.verify(GOLDEN_BODY, relabelled)
    with pytest.raises(NoteError, match=f"invalid signature by {WITNESS}"):
        open_note(GOLDEN_BODY + "\n" + relabelled.line(), [verifier])
    # Padded out to the cosignature length with a zero timestamp: still not valid.
    padded = NoteSignature(WITNESS, verifier.key_id, bytes(8) + note_sig.signature)
    assert not verifier.verify(GOLDEN_BODY, padded)


def test_cosignature_presented_as_ed25519_note_signature_fails() -> None:
    seed = bytes([7]) * 32
    plain = Ed25519Signer(WITNESS, Ed25519PrivateKey.from_private_bytes(seed)).verifier()
    cosig = witness_signer().cosign(GOLDEN_BODY, COSIG_TIME_S)
    relabelled = NoteSignature(WITNESS, plain.key_id, cosig.signature)
    assert not plain.verify(GOLDEN_BODY, relabelled)
    assert not plain.verify(GOLDEN_BODY, NoteSignature(WITNESS, plain.key_id, cosig.signature[8:]))


def test_cosign_only_signs_checkpoints_with_valid_timestamps() -> None:
    witness = witness_signer()
    with pytest.raises(CheckpointError, match="origin, tree size and root hash"):
        witness.cosign("hello\n", COSIG_TIME_S)
    with pytest.raises(CheckpointError, match="without leading zeros"):
        witness.cosign(GOLDEN_BODY.replace("\n3\n", "\n03\n"), COSIG_TIME_S)
    for bad in (-1, MAX_TIMESTAMP_S + 1):
        with pytest.raises(CheckpointError, match="between 0 and 2\\^63 - 1"):
            witness.cosign(GOLDEN_BODY, bad)
    with pytest.raises(CheckpointError, match="must be an int"):
        witness.cosign(GOLDEN_BODY, True)
    for ok in (0, MAX_TIMESTAMP_S):
        sig = witness.cosign(GOLDEN_BODY, ok)
        assert witness.verifier().verify(GOLDEN_BODY, sig)
        assert witness.verifier().timestamp(sig) == ok


def test_cosignature_verifier_refuses_non_checkpoint_text() -> None:
    # A cosignature key only ever vouches for checkpoints, whatever the signature says.
    witness = witness_signer()
    verifier = witness.verifier()
    sig = witness.cosign(GOLDEN_BODY, COSIG_TIME_S)
    assert not verifier.verify("hello\n", sig)


def test_timestamp_of_another_keys_signature_is_an_error() -> None:
    witness = witness_signer()
    other = CosignatureSigner(
        "chengyu.court/other", Ed25519PrivateKey.from_private_bytes(bytes(32))
    )
    with pytest.raises(NoteError, match="not from this cosigner"):
        witness.verifier().timestamp(other.cosign(GOLDEN_BODY, COSIG_TIME_S))


def test_cosigner_name_must_be_an_origin_line() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    with pytest.raises(CheckpointError, match="origin must have the form"):
        CosignatureSigner("witness.example.com", key)
    with pytest.raises(NoteError, match="must not contain '\\+'"):
        CosignatureSigner("a+b.court/x", key)
    with pytest.raises(TypeError):
        CosignatureSigner(WITNESS, bytes(32))  # type: ignore[arg-type]


def test_add_signatures_dedupes_identical_cosignature_lines() -> None:
    witness = witness_signer()
    signed = sign_checkpoint(golden_checkpoint(), origin_signer())
    sig = witness.cosign(GOLDEN_BODY, COSIG_TIME_S)
    once = add_signatures(signed, [sig])
    assert add_signatures(once, [sig, sig]) == once
    later = witness.cosign(GOLDEN_BODY, COSIG_TIME_S + 60)
    twice = add_signatures(once, [later])
    assert twice.count(WITNESS) == 2  # a different cosignature by the same key is kept
    _, note = open_checkpoint(twice, origin_signer().verifier(), [witness.verifier()])
    assert [witness.verifier().timestamp(s) for s in note.signatures[1:]] == [
        COSIG_TIME_S,
        COSIG_TIME_S + 60,
    ]


def test_signer_reprs_do_not_show_key_material() -> None:
    assert repr(witness_signer()) == f"CosignatureSigner('{WITNESS}', key_id=3daa5833)"
    assert repr(witness_signer().verifier()) == f"CosignatureVerifier('{WITNESS_VKEY}')"
