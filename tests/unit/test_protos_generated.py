"""The committed generated protobuf code must be exactly what the pinned generator produces."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_generated_code_is_unchanged_by_regeneration() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_protos.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_payload_oneof_cases_match_entry_kinds() -> None:
    # Every entry kind has the payload case of the same number, so kind <-> body is checkable.
    from ccnode.v1 import log_pb2, payloads_pb2

    kinds = {v.number for v in log_pb2.EntryKind.DESCRIPTOR.values if v.number}
    oneof = payloads_pb2.Payload.DESCRIPTOR.oneofs_by_name["body"]
    cases = {f.number for f in oneof.fields}
    assert kinds == cases
