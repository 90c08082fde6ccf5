"""node.toml: strict validation at the edge, one line per problem; the legacy node.json
conversion; CCNODE_DB_URL; saving and loading."""

from __future__ import annotations

import json
import logging
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from node.config import (
    CONFIG_FILE,
    DB_URL_ENV,
    ConfigError,
    Limits,
    NodeConfig,
    masked_url,
)

BASE: dict[str, Any] = {
    "node_id": "chengdu",
    "trust_domain": "chengyu.court",
    "listen": "127.0.0.1:7001",
    "court_prefixes": ["川01"],
}


def problems(data: dict[str, Any], **kw: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        NodeConfig.from_data(data, Path("/srv/h"), environ=kw.get("environ", {}))
    text = str(info.value)
    assert "pydantic" not in text and "Traceback" not in text
    assert text.splitlines() == info.value.problems
    return info.value.problems


def test_defaults_of_a_minimal_file() -> None:
    config = NodeConfig.from_data(BASE, Path("/srv/h"), environ={})
    assert config.limits == Limits()
    assert config.db_url == "sqlite:////srv/h/ccnode.db"
    assert config.certs_dir == Path("/srv/h/certs")
    assert config.log_format == "text"


@pytest.mark.parametrize(
    ("limits", "line"),
    [
        ({"batch_entries_max": "500"}, "batch_entries_max: must be an integer, not a string"),
        ({"batch_entries_max": True}, "batch_entries_max: must be an integer, not a boolean"),
        ({"batch_entries_max": 501}, "batch_entries_max: must be <= 500 (got 501)"),
        ({"backoff_max_s": -1}, "backoff_max_s: must be > 0 (got -1)"),
        ({"backoff_initial_s": "0.2"}, "backoff_initial_s: must be a number, not a string"),
        ({"checkpoint_entries_max": 2000}, "checkpoint_entries_max: must be <= 1024 (got 2000)"),
        ({"catchup_worker_backlog": -5}, "catchup_worker_backlog: must be >= 0 (got -5)"),
        ({"keepalive_time_s": 0}, "keepalive_time_s: must be >= 1 (got 0)"),
        ({"backoff_max_s": 0.1}, "backoff_max_s: must be >= backoff_initial_s"),
        ({"keepalive_timeout_s": 60}, "keepalive_timeout_s: must be <= keepalive_time_s"),
        ({"batchentries_max": 5}, "batchentries_max: unknown key; did you mean batch_entries_max?"),
    ],
)  # fmt: skip
def test_limits_are_strict_and_ranged(limits: dict[str, Any], line: str) -> None:
    assert problems({**BASE, "limits": limits}) == [f"limits.{line}"]


def test_an_int_is_a_valid_float_setting() -> None:
    config = NodeConfig.from_data({**BASE, "limits": {"backoff_max_s": 60}}, Path("/h"), environ={})
    assert config.limits.backoff_max_s == 60.0


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        ({"metrics_listn": ""}, "metrics_listn: unknown key; did you mean metrics_listen?"),
        ({"colour": "red"}, "colour: unknown key"),
        ({"listen": "nowhere"}, "listen: must be HOST:PORT"),
        ({"metrics_listen": "9100"}, "metrics_listen: must be HOST:PORT"),
        ({"node_id": "Cheng Du"}, "node_id: must match [a-z0-9][a-z0-9-]{0,62}"),
        ({"node_id": 5}, "node_id: must be a string, not an integer"),
        ({"court_prefixes": "川01"}, "court_prefixes: must be an array, not a string"),
        ({"court_prefixes": ["川01", 7]}, "court_prefixes[1]: must be a string, not an integer"),
        ({"court_prefixes": ["S"]}, "court_prefixes: each must be a court code prefix like 川01"),
        ({"log_format": "xml"}, "log_format: must be one of 'text' or 'json'"),
        ({"limits": 5}, "limits: must be a table, not an integer"),
        ({"home": "/h"}, "home: unknown key; the home is the directory that holds node.toml"),
        ({"db": "mysql://u@h/d"}, "db: must be empty (SQLite in the home), sqlite:///PATH or "
                                  "postgresql://USER@HOST[:PORT]/DATABASE"),
    ],
)  # fmt: skip
def test_top_level_rules(extra: dict[str, Any], line: str) -> None:
    assert problems({**BASE, **extra}) == [line]


def test_every_problem_on_its_own_line() -> None:
    data = {"node_id": "chengdu", "listen": "x", "limits": {"batch_entries_max": "1", "zz": 1}}
    assert problems(data) == [
        "trust_domain: required key missing",
        "listen: must be HOST:PORT",
        "limits.batch_entries_max: must be an integer, not a string",
        "limits.zz: unknown key",
    ]


def test_resync_interval_is_refused_with_its_reason() -> None:
    (line,) = problems({**BASE, "limits": {"resync_interval_s": 30.0}})
    assert line.startswith("limits.resync_interval_s: removed key (never used")
    assert line.endswith("delete it")


def test_a_password_is_never_in_an_error() -> None:
    lines = problems({**BASE, "db": "mysql://u:hunter2@h/d", "listen": "hunter2"})
    assert all("hunter2" not in line for line in lines)


def test_assignment_is_validated() -> None:
    config = NodeConfig.from_data(BASE, Path("/h"), environ={})
    with pytest.raises(ValueError, match="less than or equal to 500"):
        config.limits.batch_entries_max = 900
    assert config.limits.batch_entries_max == 500


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    config = NodeConfig.from_data(
        {**BASE, "payload_auditors": ["audit-li"], "limits": {"lookup_daily_quota": 7}},
        tmp_path,
        environ={},
    )
    config.save()
    on_disk = tomllib.loads((tmp_path / CONFIG_FILE).read_text(encoding="utf-8"))
    assert stat.S_IMODE((tmp_path / CONFIG_FILE).stat().st_mode) == 0o600  # db may hold a password
    assert "home" not in on_disk
    assert on_disk["limits"]["lookup_daily_quota"] == 7
    assert on_disk["court_prefixes"] == ["川01"]
    assert NodeConfig.load(tmp_path, environ={}) == config


def test_load_names_the_file_and_the_key(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text(
        'node_id = "chengdu"\ntrust_domain = "t.court"\nlisten = "h:1"\n'
        "[limits]\nbatch_entries_max = -1\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        NodeConfig.load(tmp_path, environ={})
    assert str(info.value) == "node.toml: limits.batch_entries_max: must be >= 1 (got -1)"


def test_load_refuses_broken_toml_in_one_line(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text('node_id = "chengdu\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^node.toml: not valid TOML \(") as info:
        NodeConfig.load(tmp_path, environ={})
    assert "\n" not in str(info.value)


def test_not_a_home(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a node home"):
        NodeConfig.load(tmp_path)


# ---------------------------------------------------------------- CCNODE_DB_URL


def test_environment_overrides_db_and_is_not_saved(tmp_path: Path) -> None:
    NodeConfig.from_data({**BASE, "db": "sqlite:////srv/a.db"}, tmp_path, environ={}).save()
    url = "postgresql://ccnode:s3cret@db1:5432/ccnode"
    config = NodeConfig.load(tmp_path, environ={DB_URL_ENV: url})
    assert config.db_url == url
    assert config.db_from_env and not config.embedded_db
    assert config.effective_data()["db"] == "postgresql://ccnode:***@db1:5432/ccnode"
    config.save()  # the file keeps its own db; the password stays in the environment
    assert tomllib.loads((tmp_path / CONFIG_FILE).read_text())["db"] == "sqlite:////srv/a.db"
    assert NodeConfig.load(tmp_path, environ={}).db_url == "sqlite:////srv/a.db"


def test_a_bad_environment_url_is_a_problem(tmp_path: Path) -> None:
    assert problems(BASE, environ={DB_URL_ENV: "db1:5432"}) == [
        f"{DB_URL_ENV} (environment): must be empty (SQLite in the home), sqlite:///PATH or "
        "postgresql://USER@HOST[:PORT]/DATABASE"
    ]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:pw@h/d", "postgresql://u:***@h/d"),
        ("postgresql+psycopg://u:p%40ss@h:5/d", "postgresql+psycopg://u:***@h:5/d"),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
        ("sqlite:////srv/h/ccnode.db", "sqlite:////srv/h/ccnode.db"),
    ],
)
def test_masked_url(url: str, masked: str) -> None:
    assert masked_url(url) == masked


# ---------------------------------------------------------------- node.json homes


def _legacy(home: Path, **changes: Any) -> dict[str, Any]:
    """A node.json as 0.1 wrote it: every key, resync_interval_s included."""
    data: dict[str, Any] = {
        **BASE,
        "db": "",
        "metrics_listen": "",
        "limits": {**Limits().model_dump(), "resync_interval_s": 30.0},
        "payload_auditors": [],
        **changes,
    }
    home.mkdir(exist_ok=True)
    (home / "node.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return data


def test_a_node_json_home_is_converted_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _legacy(tmp_path, limits={"batch_entries_max": 50, "resync_interval_s": 30.0})
    with caplog.at_level(logging.INFO, logger="node.config"):
        config = NodeConfig.load(tmp_path, environ={})
        again = NodeConfig.load(tmp_path, environ={})
    assert config.limits.batch_entries_max == 50 and again.file_data() == config.file_data()
    assert "node.json.bak" in config.conversion_notice and again.conversion_notice == ""
    assert not (tmp_path / "node.json").exists()
    assert json.loads((tmp_path / "node.json.bak").read_text())["limits"]["batch_entries_max"] == 50
    on_disk = tomllib.loads((tmp_path / CONFIG_FILE).read_text(encoding="utf-8"))
    assert on_disk["limits"]["batch_entries_max"] == 50
    assert "resync_interval_s" not in on_disk["limits"]
    notices = [r.getMessage() for r in caplog.records if r.name == "node.config"]
    assert len(notices) == 1
    assert "node.json.bak" in notices[0] and "limits.resync_interval_s" in notices[0]


def test_an_invalid_node_json_is_left_as_it_is(tmp_path: Path) -> None:
    _legacy(tmp_path, listen="nowhere")
    with pytest.raises(ConfigError, match=r"^node.json: listen: must be HOST:PORT$"):
        NodeConfig.load(tmp_path, environ={})
    assert (tmp_path / "node.json").exists()
    assert not (tmp_path / CONFIG_FILE).exists()


def test_every_number_has_a_range() -> None:
    sections = [NodeConfig] + [
        f.annotation
        for f in NodeConfig.model_fields.values()
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)
    ]
    for section in sections:
        for name, field in section.model_fields.items():
            if field.annotation not in (int, float):
                continue
            kinds = {type(m).__name__ for m in field.metadata}
            assert kinds & {"Ge", "Gt"} and kinds & {"Le", "Lt"}, f"{name}: no range"
