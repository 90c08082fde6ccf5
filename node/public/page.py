"""The public disclosure page's HTTPS server (aiohttp): a background part of the node.

Routes: ``GET /`` the form; ``POST /check`` (form fields ``name`` and ``id``) the answer as
HTML, or as JSON when the request accepts ``application/json``; ``POST /api/check`` (a JSON
object ``{"name": ..., "id": ...}``) the same answer as JSON; ``GET /style.css``.

Rules every answer keeps:
* name AND ID are both required and must both match exactly (check_subject): no partial
  name, no ID alone, so the page cannot be used to enumerate the list;
* a query from an address that exceeded its rate is answered 429 and not looked up;
* every query is counted by outcome in ``ccnode_public_queries_total`` and never logged
  (no access log; nothing of a request reaches a log line or a metric label);
* answers are never cached (``Cache-Control: no-store``); every response forbids loading
  anything from elsewhere (Content-Security-Policy) and asks for HTTPS only (HSTS).

No client certificate is asked for: the page is public. Its own certificate and key are the
operator's (``public.cert_file``, ``public.key_file``), e.g. one a public CA issued for the
site's name, not the node's federation certificate.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from node.clock import Clock
from node.config import PublicPage
from node.metrics import METRICS
from node.public import render
from node.public.answer import (
    ID_MASKS,
    Masks,
    PublicStore,
    Query,
    QueryError,
    RegionStat,
    answer_doc,
    parse_query,
    read_answer,
    region_stats,
)
from node.public.limiter import IpRateLimiter
from node.store.runner import Db

log = logging.getLogger(__name__)

BODY_BYTES_MAX: Final = 16 * 1024  # a query is two short fields
# Region figures are read at most this often: they scan each region's listings, and every
# answer shows them.
REGION_STATS_TTL_S: Final = 10.0
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_HTML = "text/html"
_JSON = "application/json"


class PublicPageError(Exception):
    """The page cannot start: its certificate or key is unreadable, or its address is in use
    (said in one line by `ccnode serve`, naming the configuration key)."""


def public_page_tls(config: PublicPage, home: Path) -> ssl.SSLContext:
    """The server's TLS context: TLS 1.2 or later, no client certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(home / config.cert_file, home / config.key_file)
    return context


@dataclass(frozen=True)
class _Reply:
    status: int
    doc: dict[str, Any]
    html: str
    headers: dict[str, str]


class DisclosurePage:
    """Serves the page on ``config.listen`` while the node runs (start/stop)."""

    def __init__(
        self, *, db: Db[PublicStore], config: PublicPage, home: Path, clock: Clock
    ) -> None:
        self._db = db
        self._config = config
        self._home = home
        self._clock = clock
        self._limiter = IpRateLimiter(clock, config.rate_per_minute)
        self._masks = Masks(ID_MASKS[config.id_mask], config.show_credit_codes)
        self._runner: web.AppRunner | None = None
        self._stats: tuple[float, tuple[RegionStat, ...]] | None = None
        self.port = 0

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        try:
            tls = public_page_tls(self._config, self._home)
        except OSError as exc:  # missing file, not PEM, key not matching (ssl.SSLError)
            raise PublicPageError(
                "public.cert_file, public.key_file: cannot be loaded as a PEM certificate "
                f"chain and its key ({type(exc).__name__})"
            ) from None
        app = web.Application(client_max_size=BODY_BYTES_MAX, middlewares=[_headers])
        app.router.add_get("/", self._form)
        app.router.add_get("/style.css", self._style)
        app.router.add_post("/check", self._check_form)
        app.router.add_post("/api/check", self._check_json)
        # No access log: a request line, an address and a time are not to be kept for a
        # public query (the queries are counted in metrics instead).
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        host, _, port = self._config.listen.rpartition(":")
        site = web.TCPSite(runner, host, int(port), ssl_context=tls, reuse_port=False)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise PublicPageError(
                f"public.listen {self._config.listen} is in use, or not an address of this host"
            ) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("public disclosure page on %s", self._config.listen)

    async def stop(self) -> None:
        """Stop listening; queries in flight finish first (aiohttp's shutdown)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- handlers

    async def _form(self, request: web.Request) -> web.Response:
        return web.Response(text=render.form_page(), content_type=_HTML)

    async def _style(self, request: web.Request) -> web.Response:
        response = web.Response(text=render.STYLE, content_type="text/css")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    async def _check_form(self, request: web.Request) -> web.Response:
        fields: dict[str, object] = {}
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            METRICS.public_queries.labels(outcome="refused").inc()
            raise
        except ValueError:
            form = None
        if form is not None:
            fields = {key: form.get(key) for key in ("name", "id")}
        reply = await self._answer(request, fields)
        if _wants_json(request):
            return _json(reply)
        return web.Response(
            status=reply.status, text=reply.html, content_type=_HTML, headers=reply.headers
        )

    async def _check_json(self, request: web.Request) -> web.Response:
        try:
            body = await request.json(loads=json.loads)
        except web.HTTPRequestEntityTooLarge:
            METRICS.public_queries.labels(outcome="refused").inc()
            raise
        except ValueError:  # not JSON, or not UTF-8: answered as a query missing its fields
            body = None
        fields: dict[str, object] = body if isinstance(body, dict) else {}
        return _json(await self._answer(request, fields))

    async def _answer(self, request: web.Request, fields: dict[str, object]) -> _Reply:
        address = request.remote or ""
        if not self._limiter.take(address):
            METRICS.public_queries.labels(outcome="rate_limited").inc()
            retry = self._limiter.retry_after_s(address)
            doc = {
                "error": {
                    "rule": "rate_limited",
                    "message": f"too many queries: try again in {retry} seconds",
                    "message_zh": f"查询过于频繁，请{retry}秒后再试",
                    "retry_after_s": retry,
                }
            }
            headers = {"Retry-After": str(retry)}
            return _Reply(429, doc, render.rate_limited_page(retry), headers)
        try:
            query = parse_query(fields)
        except QueryError as err:
            METRICS.public_queries.labels(outcome="refused").inc()
            doc = {"error": {"field": err.field, "rule": err.rule, "message": err.en,
                             "message_zh": err.zh}}  # fmt: skip
            typed = {key: value if isinstance(value, str) else "" for key, value in fields.items()}
            html = render.refusal_page(
                err.field, err.zh, err.en, typed.get("name", ""), typed.get("id", "")
            )
            return _Reply(400, doc, html, {})
        doc = await self._lookup(query)
        METRICS.public_queries.labels(outcome="listed" if doc["listed"] else "not_listed").inc()
        return _Reply(200, doc, render.answer_page(doc), {})

    async def _lookup(self, query: Query) -> dict[str, Any]:
        show_ended = self._config.show_ended
        check = await self._db.read(read_answer, self._db.store, query, show_ended=show_ended)
        regions = await self._regions()
        return answer_doc(query, check, regions, self._masks, now_ms=self._clock.now_ms())

    async def _regions(self) -> tuple[RegionStat, ...]:
        now_s = self._clock.monotonic_s()
        if self._stats is None or now_s - self._stats[0] >= REGION_STATS_TTL_S:
            self._stats = (now_s, await self._db.read(region_stats, self._db.store))
        return self._stats[1]


def _wants_json(request: web.Request) -> bool:
    return _JSON in request.headers.get("Accept", "")


def _json(reply: _Reply) -> web.Response:
    return web.json_response(
        reply.doc,
        status=reply.status,
        headers=reply.headers,
        dumps=lambda obj: json.dumps(obj, ensure_ascii=False),
    )


@web.middleware
async def _headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Security headers on every response, errors included; no caching except the style."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # 404, 405, 413: a short plain answer
        response = web.Response(status=exc.status, text=f"{exc.status} {exc.reason}\n")
    response.headers.update(SECURITY_HEADERS)
    response.headers["Server"] = "ccnode"  # no software versions
    response.headers.setdefault("Cache-Control", "no-store")
    return response
