"""Audit bundles (sync.bundle): a written bundle verifies; every kind of damage is found, with
the position of the entry and the reason."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace

import pytest

from sync.bundle import (
    FORMAT,
    BundleInfo,
    BundleReport,
    BundleWriter,
    parse_record,
    verify_bundle,
)
from tests.unit.bundlefixtures import bundle_lines, fake_check, fake_pem, small_log
from tests.unit.corefixtures import blacklist_entry, log_signer, signed_checkpoint

SIZES = (3, 5, 7)


def verify(lines: list[bytes]) -> BundleReport:
    return verify_bundle(lines, fake_check)


def reasons(report: BundleReport) -> list[tuple[int | None, str]]:
    return [(p.index, p.reason) for p in report.problems]


def reseal(lines: list[bytes]) -> list[bytes]:
    """Recompute the end record, as someone covering their tracks would."""
    body = lines[:-1]
    digest = hashlib.sha256(b"".join(body)).hexdigest()
    end = {"type": "end", "lines": len(body), "sha256": digest}
    return [*body, (json.dumps(end, sort_keys=True, separators=(",", ":")) + "\n").encode()]


def edit(lines: list[bytes], position: int, **changes: object) -> list[bytes]:
    record = json.loads(lines[position])
    record.update(changes)
    out = list(lines)
    out[position] = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()
    return out


def entry_line(lines: list[bytes], index: int) -> int:
    for position, line in enumerate(lines):
        record = json.loads(line)
        if record["type"] == "entry" and record["index"] == index:
            return position
    raise AssertionError(f"no entry {index}")


def test_a_written_bundle_verifies() -> None:
    log = small_log()
    report = verify(bundle_lines(log, SIZES, cosigned_sizes=(5, 7), redacted=(1,)))
    assert reasons(report) == []
    assert report.ok
    assert (report.origin, report.size, report.entries) == ("chengdu", 7, 7)
    assert (report.verified_size, report.checkpoints, report.payloads) == (7, 3, 6)
    assert report.cosignatures == {"chongqing": 2}
    assert report.unchecked_signers == []


def test_the_format_is_json_lines_with_sorted_keys() -> None:
    lines = bundle_lines(small_log(), SIZES)
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    kinds = [parse_record(line)["type"] for line in lines]
    assert kinds[:3] == ["bundle", "certificate", "certificate"]
    assert kinds[-1] == "end"
    assert kinds[3:-1] == ["entry"] * 3 + ["checkpoint"] + ["entry", "entry", "checkpoint"] * 2
    assert json.loads(lines[0])["format"] == FORMAT
    for line in lines:
        text = line.decode()
        assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False) + "\n"  # fmt: skip


def test_cosignatures_without_a_witness_certificate_are_listed_not_trusted() -> None:
    lines = bundle_lines(small_log(), SIZES, cosigned_sizes=(7,), certificates=("chengdu",))
    report = verify(lines)
    assert report.ok
    assert report.cosignatures == {}
    assert report.unchecked_signers == ["chengyu.court/chongqing"]


def test_without_the_origin_certificate_nothing_verifies() -> None:
    report = verify(bundle_lines(small_log(), SIZES, certificates=("chongqing",)))
    assert not report.ok
    assert report.verified_size == 0
    assert "no valid log certificate of the origin" in report.problems[-1].reason


def test_a_certificate_the_ca_did_not_issue_is_refused() -> None:
    lines = bundle_lines(small_log(), SIZES)
    record = json.loads(lines[1])
    lines = reseal(edit(lines, 1, pem=record["pem"] + "x"))
    report = verify(lines)
    assert not report.ok
    assert report.problems[0].line == 2
    assert report.problems[0].reason == "certificate of chengdu: not issued by the CA"


def test_a_changed_payload_byte_names_the_entry() -> None:
    log = small_log()
    bad = bytearray(log.entries[4].payload or b"")
    bad[10] ^= 0x01
    entries = list(log.entries)
    entries[4] = replace(entries[4], payload=bytes(bad))
    report = verify(bundle_lines(log, SIZES, entries=entries))
    assert reasons(report) == [(4, "entry 4: payload: digest differs from the header")]
    assert report.verified_size == 3


def test_a_changed_header_byte_names_the_entry() -> None:
    log = small_log()
    bad = bytearray(log.entries[5].header)
    bad[-40] ^= 0x01  # inside the payload digest: still a well-formed header
    entries = list(log.entries)
    entries[5] = replace(entries[5], header=bytes(bad))
    report = verify(bundle_lines(log, SIZES, entries=entries))
    assert reasons(report)[0] == (
        5,
        "entry 5: header bytes differ from the leaf hash recorded at export",
    )
    assert (5, "checkpoint at size 7: entries 5..6 do not hash to the signed root "
            "(an entry in that range was changed)") in reasons(report)  # fmt: skip
    assert report.verified_size == 5


def test_a_changed_header_with_a_matching_leaf_hash_is_still_found_by_the_root() -> None:
    log = small_log()
    lines = bundle_lines(log, SIZES)
    position = entry_line(lines, 3)
    forged = blacklist_entry("chengdu", 3, subject="chengdu/bl/999")
    lines = reseal(
        edit(
            lines,
            position,
            header=base64.b64encode(forged.header).decode(),
            leaf_hash=base64.b64encode(forged.leaf_hash()).decode(),
            salt=base64.b64encode(forged.salt).decode(),
            payload=base64.b64encode(forged.payload or b"").decode(),
        )
    )
    report = verify(lines)
    assert reasons(report) == [
        (3, "checkpoint at size 5: entries 3..4 do not hash to the signed root "
            "(an entry in that range was changed)"),
        (None, "1 later checkpoints do not match either (they cover the entries above)"),
    ]  # fmt: skip
    assert report.verified_size == 3


def test_a_dropped_entry_is_found_at_its_position() -> None:
    lines = bundle_lines(small_log(), SIZES)
    del lines[entry_line(lines, 1)]
    report = verify(reseal(lines))
    first = reasons(report)[0]
    assert first == (
        1,
        "entry 1 expected here, the file has entry 2 (an entry is missing, added or out of order)",
    )
    assert not report.ok and report.verified_size == 0


def test_a_dropped_last_entry_and_checkpoint_is_found() -> None:
    lines = bundle_lines(small_log(), SIZES)
    del lines[-3:-1]  # entry 6 and the checkpoint at 7
    report = verify(reseal(lines))
    assert (6, "the header says 7 entries but the file holds 6") in reasons(report)
    assert (6, "the latest checkpoint covers 5 entries, not 7") in reasons(report)
    assert report.verified_size == 5


def test_reordered_entries_are_found() -> None:
    lines = bundle_lines(small_log(), SIZES)
    a, b = entry_line(lines, 3), entry_line(lines, 4)
    lines[a], lines[b] = lines[b], lines[a]
    report = verify(reseal(lines))
    assert reasons(report)[0][0] == 3
    assert "out of order" in reasons(report)[0][1]
    assert report.verified_size == 3


def test_a_moved_checkpoint_is_out_of_place() -> None:
    lines = bundle_lines(small_log(), SIZES)
    cp = next(i for i, line in enumerate(lines) if json.loads(line)["type"] == "checkpoint")
    lines.insert(cp - 1, lines.pop(cp))
    report = verify(reseal(lines))
    assert reasons(report)[0] == (
        1,
        "checkpoint at size 3 is out of place (it follows entry 1; "
        "an entry is missing, added or out of order)",
    )


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    log = small_log()
    lines = bundle_lines(log, SIZES)
    forger = log_signer("chengdu", seed=b"forger")
    cp = max(i for i, line in enumerate(lines) if json.loads(line)["type"] == "checkpoint")
    lines = reseal(edit(lines, cp, note=signed_checkpoint("chengdu", 7, log.root(7), forger)))
    report = verify(lines)
    assert reasons(report) == [
        (6, "checkpoint at size 7: not signed by the origin's certified key")
    ]
    assert report.verified_size == 5


def test_a_broken_cosignature_is_refused() -> None:
    lines = bundle_lines(small_log(), SIZES, cosigned_sizes=(7,))
    cp = max(i for i, line in enumerate(lines) if json.loads(line)["type"] == "checkpoint")
    note = json.loads(lines[cp])["note"]
    last = note.rstrip("\n").rsplit("\n", 1)[1]
    sig = last.rsplit(" ", 1)[1]
    flipped = sig[:20] + ("A" if sig[20] != "A" else "B") + sig[21:]
    lines = reseal(edit(lines, cp, note=note.replace(sig, flipped)))
    assert reasons(verify(lines)) == [
        (6, "checkpoint at size 7: the cosignature of chongqing does not verify")
    ]


def test_unsigned_fields_are_covered_by_the_end_digest_only() -> None:
    lines = edit(bundle_lines(small_log(), SIZES), 0, exported_by="spiffe://x/auditor/else")
    report = verify(lines)
    assert reasons(report) == [
        (None, "the file's digest differs from its end record (file altered)")
    ]
    assert report.problems[0].line == len(lines)
    # Resealed, the change is invisible: it is not part of anything the origin signed.
    assert verify(reseal(lines)).ok


def test_truncated_and_extended_files_fail() -> None:
    lines = bundle_lines(small_log(), SIZES)
    truncated = verify(lines[:-1])
    assert (None, "the file ends without its end record (truncated?)") in reasons(truncated)
    assert not truncated.ok
    extended = verify([*lines, lines[-1]])
    assert (None, "data after the end record") in reasons(extended)
    half = verify([*lines[:-1], lines[-1][:-1]])
    assert (None, "line does not end in a newline (file truncated?)") in reasons(half)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json\n", "line is not a JSON object"),
        (b'{"type":"bundle"}\n', "bundle record: must have exactly the keys"),
        (b'{"type":"x"}\n', "type: must be bundle, certificate, entry, checkpoint or end"),
        (b'{"type":"end","type":"end","lines":1,"sha256":""}\n', "key 'type' appears twice"),
        (b"\xff\n", "line is not UTF-8"),
        (b"[1]\n", "line is not a JSON object"),
    ],
)
def test_malformed_lines_are_named(line: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_record(line)


def test_a_damaged_entry_line_keeps_later_positions_true() -> None:
    lines = bundle_lines(small_log(), SIZES)
    position = entry_line(lines, 2)
    lines[position] = lines[position].replace(b'"header":"', b'"header":"!', 1)
    report = verify(reseal(lines))
    assert reasons(report)[0] == (2, "entry 2: header: must be canonical base64")
    assert report.verified_size == 0
    assert report.entries == 7  # the damaged line still counts as entry 2


def test_an_empty_log_bundle_verifies() -> None:
    w = BundleWriter(
        BundleInfo("chengyu.court", "chengdu", 0, "chengdu", "home:chengdu", 1, "none")
    )
    lines = [w.header(), w.certificate("chengdu", fake_pem("chengdu")), w.end()]
    assert verify(lines).ok


def test_a_non_bundle_file_fails_cleanly() -> None:
    assert reasons(verify([])) == [(None, "the file is empty or has no bundle header")]
    other = verify([b'{"type":"end","lines":0,"sha256":""}\n'])
    assert (None, "the bundle header must come first") in reasons(other)
