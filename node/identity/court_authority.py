"""Court authority in the log-signing certificate: which court prefixes an origin may speak for.

Which courts an origin serves is data the federation CA signs, not a receiver's configuration,
so every node checks the same thing: the origin's log-signing certificate carries its court
prefixes (e.g. ``川01``) in a private, non-critical X.509 extension, ``COURT_PREFIXES_OID``,
whose value is the DER encoding of ``SEQUENCE OF UTF8String``. ``ccnode certs issue
--court-prefix`` writes it (node/identity/ca.py); OriginKeys reads it with the origin's key
(node/identity/origin_keys.py) and the folds ignore any court-bound fact outside it
(sync/folds/blacklist.py).

A certificate without the extension (issued before it existed) entitles its origin to no
court: it may still sign entries that name no court, but every node ignores its listings.
The strict reading is the safe one: an old certificate cannot grant more than was written.

The OID is under the UUID arc 2.25 (ITU-T X.667), which needs no registration.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cryptography import x509

from node.identity.errors import IdentityError, PkiError
from sync.domain.courts_cn import prefix_problem

COURT_PREFIXES_OID = x509.ObjectIdentifier("2.25.172849954063243260719809890779092102659.1")

# A court code prefix: a province character and up to 4 digits (法〔2015〕137号), e.g. 川01.
COURT_PREFIX_RE = re.compile(r"[\u4e00-\u9fff]\d{0,4}")
COURT_PREFIXES_MAX = 64

_SEQUENCE = 0x30
_UTF8_STRING = 0x0C


def check_court_prefixes(prefixes: Sequence[str]) -> tuple[str, ...]:
    """The prefixes, checked (PkiError names the position, never a value)."""
    if isinstance(prefixes, str):
        raise PkiError("court_prefixes: must be a sequence of prefixes, not a single string")
    if len(prefixes) > COURT_PREFIXES_MAX:
        raise PkiError(f"court_prefixes: at most {COURT_PREFIXES_MAX}")
    for position, prefix in enumerate(prefixes):
        if not isinstance(prefix, str) or COURT_PREFIX_RE.fullmatch(prefix) is None:
            raise PkiError(f"court_prefixes[{position}]: must be a court code prefix like 川01")
        # Issued certificates only: one already issued is read (decode_court_prefixes) as it is.
        if (problem := prefix_problem(prefix)) is not None:
            raise PkiError(f"court_prefixes[{position}]: {problem}")
    return tuple(dict.fromkeys(prefixes))


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def encode_court_prefixes(prefixes: Sequence[str]) -> bytes:
    """DER ``SEQUENCE OF UTF8String`` of the checked prefixes."""
    body = b"".join(
        bytes((_UTF8_STRING,)) + _der_length(len(raw)) + raw
        for raw in (p.encode() for p in check_court_prefixes(prefixes))
    )
    return bytes((_SEQUENCE,)) + _der_length(len(body)) + body


def _read_tlv(data: bytes, at: int) -> tuple[int, bytes, int]:
    """(tag, value, next offset) of the DER element at ``at``; ValueError if malformed."""
    if at + 2 > len(data):
        raise ValueError("truncated")
    tag, first = data[at], data[at + 1]
    at += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 2 or at + count > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[at : at + count], "big")
        if length < 0x80 or (count == 2 and length < 0x100):
            raise ValueError("non-minimal length")  # DER: the shortest form only
        at += count
    if at + length > len(data):
        raise ValueError("truncated")
    return tag, data[at : at + length], at + length


def decode_court_prefixes(der: bytes) -> tuple[str, ...]:
    """The prefixes of an extension value; ValueError unless it is exactly what
    ``encode_court_prefixes`` writes."""
    tag, body, end = _read_tlv(der, 0)
    if tag != _SEQUENCE or end != len(der):
        raise ValueError("not one SEQUENCE")
    prefixes: list[str] = []
    at = 0
    while at < len(body):
        tag, value, at = _read_tlv(body, at)
        if tag != _UTF8_STRING:
            raise ValueError("not a UTF8String")
        prefix = value.decode()
        if COURT_PREFIX_RE.fullmatch(prefix) is None or len(prefixes) >= COURT_PREFIXES_MAX:
            raise ValueError("not a court prefix")
        prefixes.append(prefix)
    return tuple(prefixes)


def court_prefixes_extension(prefixes: Sequence[str]) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(COURT_PREFIXES_OID, encode_court_prefixes(prefixes))


def court_prefixes_of(cert: x509.Certificate) -> tuple[str, ...]:
    """The court prefixes a log-signing certificate entitles its node to; () without the
    extension (see the module doc). IdentityError if the extension is malformed."""
    try:
        ext = cert.extensions.get_extension_for_oid(COURT_PREFIXES_OID)
    except x509.ExtensionNotFound:
        return ()
    except ValueError as e:  # malformed or duplicate extensions
        raise IdentityError("bad_identity", "certificate extensions are malformed") from e
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise IdentityError("bad_identity", "court prefixes extension is malformed")
    try:
        return decode_court_prefixes(value.value)
    except (ValueError, UnicodeDecodeError) as e:
        raise IdentityError("bad_identity", "court prefixes extension is malformed") from e
