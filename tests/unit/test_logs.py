"""The node's log lines: text or JSON lines, the level in any case, gRPC's C-core verbosity
mapped from it (and an operator's own setting left alone)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from node.logs import check_format, grpc_environment, log_level, setup


@pytest.fixture
def restore_root() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_critical_is_a_level_too_and_other_words_are_refused() -> None:
    assert log_level("Critical") == logging.CRITICAL
    with pytest.raises(ValueError, match="CCNODE_LOG: 'trace' is not one of"):
        log_level("trace")


@pytest.mark.parametrize(("text", "name"), [("text", "text"), (" JSON ", "json")])
def test_formats_in_any_case(text: str, name: str) -> None:
    assert check_format(text) == name


def test_an_unknown_format_is_refused_naming_the_key() -> None:
    with pytest.raises(ValueError, match="log_format: 'xml' is not one of text, json"):
        check_format("xml")


def test_json_lines_are_one_object_per_event_with_the_traceback_inside(
    restore_root: logging.Logger,
) -> None:
    out = io.StringIO()
    setup(logging.INFO, "json", out)
    log = logging.getLogger("node.test")
    log.debug("not at info")
    log.info("peer %s connected", "chongqing")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("session failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the traceback is inside its event's line
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO"
    assert first["logger"] == "node.test"
    assert first["message"] == "peer chongqing connected"
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["level"] == "ERROR"
    assert "RuntimeError: boom" in second["exception"]


def test_text_lines_say_time_level_logger_message(restore_root: logging.Logger) -> None:
    out = io.StringIO()
    setup(logging.DEBUG, "text", out)
    logging.getLogger("node.test").debug("catch-up %d of %d entries", 5, 10)
    line = out.getvalue().rstrip("\n")
    stamp, level, logger, message = line.split(" ", 3)
    assert stamp.endswith("Z") and len(stamp) == len("2026-01-02T03:04:05.678Z")
    assert (level, logger, message) == ("DEBUG", "node.test:", "catch-up 5 of 10 entries")


def test_setup_replaces_earlier_handlers(restore_root: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    setup(logging.INFO, "text", first)
    setup(logging.INFO, "json", second)
    logging.getLogger("node.test").info("once")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["message"] == "once"


@pytest.mark.parametrize(
    ("level", "verbosity"),
    [("debug", "INFO"), ("", "ERROR"), ("INFO", "ERROR"), ("warning", "ERROR"),
     ("error", "ERROR"), ("critical", "NONE")],
)  # fmt: skip
def test_grpc_verbosity_follows_the_node_level(level: str, verbosity: str) -> None:
    env = {"CCNODE_LOG": level}
    grpc_environment(env)
    assert env["GRPC_VERBOSITY"] == verbosity
    assert env["GRPC_TRACE"] == ""


def test_an_operators_grpc_settings_are_left_alone() -> None:
    env = {"CCNODE_LOG": "info", "GRPC_VERBOSITY": "DEBUG", "GRPC_TRACE": "http"}
    grpc_environment(env)
    assert env == {"CCNODE_LOG": "info", "GRPC_VERBOSITY": "DEBUG", "GRPC_TRACE": "http"}


def test_a_bad_level_sets_nothing_and_is_refused_later() -> None:
    env = {"CCNODE_LOG": "verbose"}
    grpc_environment(env)
    assert env == {"CCNODE_LOG": "verbose"}
