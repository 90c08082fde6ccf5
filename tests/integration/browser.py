"""Headless Chromium driven over the DevTools protocol (aiohttp's WebSocket client), for tests
of pages a node serves: navigate, type into fields, click, read the DOM and what the console
reported (CSP violations among it). Chromium runs in its own process group, killed at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

STEP_TIMEOUT_S = 30


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI: run scripts/ensure_chromium.sh")
        pytest.skip("chromium not installed (scripts/ensure_chromium.sh installs it)")
    return path


class Tab:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.console: list[str] = []  # console messages and browser log entries
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            data = json.loads(message.data)
            if "id" in data:
                future = self._replies.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
                continue
            if data.get("method") == "Log.entryAdded":
                entry = data["params"]["entry"]
                self.console.append(f"{entry['level']}: {entry['text']}")
            elif data.get("method") == "Runtime.consoleAPICalled":
                self.console.append(str(data["params"].get("args")))
            self._events.put_nowait(data)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[call_id] = future
        await self._ws.send_str(json.dumps({"id": call_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, STEP_TIMEOUT_S)
        assert "error" not in reply, reply
        return dict(reply.get("result", {}))

    async def _loaded(self) -> None:
        while True:
            event = await asyncio.wait_for(self._events.get(), STEP_TIMEOUT_S)
            if event.get("method") == "Page.loadEventFired":
                return

    async def goto(self, url: str) -> None:
        self._drain()
        await self.send("Page.navigate", url=url)
        await self._loaded()

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def fill(self, field_id: str, text: str) -> None:
        """Type ``text`` into the input with this id, as a user would (focus, insert)."""
        await self.evaluate(f"document.getElementById({json.dumps(field_id)}).focus()")
        await self.evaluate(f"document.getElementById({json.dumps(field_id)}).value = ''")
        await self.send("Input.insertText", text=text)

    async def click_and_wait(self, selector: str) -> None:
        self._drain()
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        await self._loaded()

    async def html(self) -> str:
        return str(await self.evaluate("document.documentElement.outerHTML"))

    def _drain(self) -> None:
        while not self._events.empty():
            self._events.get_nowait()

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()


@contextlib.asynccontextmanager
async def headless_tab(profile: Path) -> AsyncIterator[Tab]:
    """One tab of a fresh headless Chromium (profile in ``profile``). Certificate errors are
    ignored: the pages under test are served with the test federation's own CA."""
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--ignore-certificate-errors", "--remote-debugging-port=0",
        f"--user-data-dir={profile}", "about:blank",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    drain: asyncio.Task[None] | None = None
    try:
        ws_url = await asyncio.wait_for(_devtools_url(proc), STEP_TIMEOUT_S)
        # Keep reading what Chromium writes on, so that a full pipe never blocks it.
        drain = asyncio.create_task(_drain(proc))
        port = re.search(r":(\d+)/", ws_url)
        assert port is not None
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port.group(1)}/json/list") as r:
                targets = await r.json()
            page = next(t for t in targets if t["type"] == "page")
            ws = await session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
            tab = Tab(ws)
            try:
                await tab.send("Page.enable")
                await tab.send("Log.enable")
                await tab.send("Runtime.enable")
                yield tab
            finally:
                await tab.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain


async def _devtools_url(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr is not None
    while line := (await proc.stderr.readline()).decode(errors="replace"):
        match = re.search(r"DevTools listening on (ws://\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError(f"chromium exited ({proc.returncode}) without a DevTools address")


async def _drain(proc: asyncio.subprocess.Process) -> None:
    assert proc.stderr is not None
    while await proc.stderr.read(65536):
        pass
