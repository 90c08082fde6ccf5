"""Payload bytes ⇄ ``ccnode.v1.Payload``, with the body case bound to the header's kind.

Entry kind N and payload body field N share their number (a test pins this), so a payload
whose body does not match its header's kind is malformed.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from ccnode.v1 import payloads_pb2

_BODY = payloads_pb2.Payload.DESCRIPTOR.oneofs_by_name["body"]
_CASE_BY_KIND: dict[int, str] = {f.number: f.name for f in _BODY.fields}


class PayloadError(ValueError):
    """Payload bytes are undecodable or do not match the entry kind."""


def body_name(kind: int) -> str:
    try:
        return _CASE_BY_KIND[kind]
    except KeyError:
        raise PayloadError(f"kind {kind} has no payload body") from None


def encode_payload(kind: int, payload: payloads_pb2.Payload) -> bytes:
    if payload.WhichOneof("body") != body_name(kind):
        raise PayloadError(f"payload body does not match kind {body_name(kind)}")
    return payload.SerializeToString(deterministic=True)


def decode_payload(kind: int, data: bytes) -> payloads_pb2.Payload:
    try:
        payload = payloads_pb2.Payload.FromString(data)
    except DecodeError as exc:
        raise PayloadError("payload is not a valid Payload encoding") from exc
    if payload.WhichOneof("body") != body_name(kind):
        raise PayloadError(f"payload body does not match kind {body_name(kind)}")
    return payload
