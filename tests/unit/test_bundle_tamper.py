"""Any single flipped byte anywhere in a bundle makes it fail verification."""

from __future__ import annotations

from sync.bundle import verify_bundle
from tests.unit.bundlefixtures import bundle_lines, fake_check, small_log


def _split(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def test_every_single_byte_flip_fails() -> None:
    data = b"".join(bundle_lines(small_log(2), (1, 2), cosigned_sizes=(2,)))
    assert verify_bundle(_split(data), fake_check).ok
    passed = []
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        if verify_bundle(_split(bytes(damaged)), fake_check).ok:
            passed.append(position)
    assert passed == []


def test_every_dropped_line_fails() -> None:
    lines = bundle_lines(small_log(3), (2, 3), cosigned_sizes=(3,))
    for position in range(len(lines)):
        damaged = lines[:position] + lines[position + 1 :]
        assert not verify_bundle(damaged, fake_check).ok, position
