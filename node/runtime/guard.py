"""The one place where a call's unexpected failure becomes a proper status.

A caller never sees an exception class name or a traceback, and cannot fill the node's log:

* request bytes that do not decode as the method's request message answer INVALID_ARGUMENT
  (field ``request``, rule ``undecodable``). grpc would answer UNKNOWN with the decoder's
  exception and log a traceback at ERROR; the guard wraps each method's deserialiser, so the
  failure reaches the guard as a value instead of raising inside grpc's core;
* a full database (``StoreFull``) answers RESOURCE_EXHAUSTED with a sentence saying so (the
  write was rolled back: nothing committed is lost);
* any other exception answers INTERNAL "internal error", and the node logs it: one line (with
  its traceback) per method and exception class a minute (``node.ratelog``).

A refusal a servicer makes itself (``context.abort``) passes through untouched. The guard is a
``grpc.aio.ServerInterceptor`` on both listeners (node/runtime/servers.py): it wraps the
handler grpc found for the method, keeping its kind (unary or streaming, either side).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from node.clock import Clock
from node.ratelog import RateLimitedLog
from node.services.errors import abort, refusal_status
from node.store.base import StoreFull

log = logging.getLogger(__name__)

STORE_FULL_MESSAGE = "this node's database is full: nothing was written; retry once it has room"
INTERNAL_MESSAGE = "internal error (logged on the node)"


class _Undecodable:
    """What the wrapped deserialiser returns for bytes that are not the request message."""


class _UndecodableRequest(Exception):
    """A message of a request stream did not decode (raised into the servicer's loop)."""


_UNDECODABLE = _Undecodable()


def _decoding(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # any decoder failure is the caller's bytes, never the node's fault
            return _UNDECODABLE

    return decode


async def _checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if request is _UNDECODABLE:
            raise _UndecodableRequest
        yield request


class ErrorGuard(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, clock: Clock) -> None:
        self._log = RateLimitedLog(log, clock)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method
        decode = _decoding(handler.request_deserializer)
        encode = handler.response_serializer
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary, streaming=False), decode, encode
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(method, handler.stream_unary, streaming=True), decode, encode
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream, streaming=False), decode, encode
            )
        return grpc.stream_stream_rpc_method_handler(
            self._stream(method, handler.stream_stream, streaming=True), decode, encode
        )

    def _unary(
        self, method: str, behaviour: Callable[..., Any], *, streaming: bool
    ) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            request = await self._admit(method, request, context, streaming=streaming)
            try:
                return await behaviour(request, context)
            except Exception as exc:
                await self._fail(method, exc, context)

        return guarded

    def _stream(
        self, method: str, behaviour: Callable[..., Any], *, streaming: bool
    ) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            request = await self._admit(method, request, context, streaming=streaming)
            try:
                if inspect.isasyncgenfunction(behaviour):
                    async for response in behaviour(request, context):
                        yield response
                else:  # a servicer that writes with context.write
                    await behaviour(request, context)
            except Exception as exc:
                await self._fail(method, exc, context)

        return guarded

    async def _admit(
        self, method: str, request: Any, context: grpc.aio.ServicerContext, *, streaming: bool
    ) -> Any:
        """The request as the servicer gets it: a checked stream, or a decoded message."""
        if streaming:
            return _checked(request)
        if request is _UNDECODABLE:
            await self._undecodable(method, context)
        return request

    async def _undecodable(self, method: str, context: grpc.aio.ServicerContext) -> None:
        self._log.warning(f"undecodable:{method}", "undecodable request bytes on %s", method)
        await abort(
            context,
            refusal_status(
                "request",
                "undecodable",
                "the bytes are not this method's request message",
                zh="无法解码：所发内容不是此方法的请求消息",
            ),
        )

    async def _fail(self, method: str, exc: Exception, context: grpc.aio.ServicerContext) -> None:
        if isinstance(exc, grpc.aio.AbortError):
            raise exc  # the servicer's own status, already set
        if isinstance(exc, _UndecodableRequest):
            await self._undecodable(method, context)
        if isinstance(exc, StoreFull):
            self._log.error(f"full:{method}", "%s failed: the database is full", method)
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, STORE_FULL_MESSAGE)
        kind = type(exc).__name__
        self._log.error(f"{kind}:{method}", "%s failed: %s", method, kind, exc_info=True)
        await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
