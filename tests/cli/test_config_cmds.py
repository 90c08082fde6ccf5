"""``ccnode config validate`` and ``ccnode config show``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from node.config import NodeConfig
from tests.cli.support import fails, ok

PG = "postgresql://ccnode:s3cret@db1:5432/ccnode"


def test_validate_a_home(home: Path) -> None:
    assert ok("config", "validate", "--home", home).stdout == f"{home / 'node.toml'}: valid\n"


def test_validate_a_file_without_a_home(tmp_path: Path) -> None:
    file = tmp_path / "candidate.toml"
    file.write_text('node_id = "chengdu"\ntrust_domain = "t.court"\nlisten = "h:1"\n')
    assert "candidate.toml: valid" in ok("config", "validate", file).stdout


def test_validate_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    file = tmp_path / "node.toml"
    file.write_text(
        'node_id = "chengdu"\ntrust_domain = "t.court"\nlisten = "h:1"\nmetrics_listn = ""\n'
        '[limits]\nbatch_entries_max = "500"\nbackoff_max_s = -1\n',
        encoding="utf-8",
    )
    result = fails(2, "config", "validate", file)
    lines = result.stderr.removeprefix("Error: ").splitlines()
    assert lines == [
        "node.toml: limits.batch_entries_max: must be an integer, not a string",
        "node.toml: limits.backoff_max_s: must be > 0 (got -1)",
        "node.toml: metrics_listn: unknown key; did you mean metrics_listen?",
    ]
    assert "pydantic" not in result.stderr


def test_validate_checks_the_environment_url(home: Path) -> None:
    result = fails(2, "config", "validate", "--home", home, env={"CCNODE_DB_URL": "db1:5432"})
    assert "CCNODE_DB_URL (environment): must be" in result.stderr


def test_validate_a_legacy_home_without_converting_it(tmp_path: Path) -> None:
    home = tmp_path / "old"
    home.mkdir()
    (home / "node.json").write_text(
        json.dumps({"node_id": "chengdu", "trust_domain": "t.court", "listen": "nowhere"})
    )
    result = fails(2, "config", "validate", "--home", home)
    assert "node.json: listen: must be HOST:PORT" in result.stderr
    assert not (home / "node.toml").exists()


def test_validate_needs_a_file_or_a_home() -> None:
    assert "give FILE or --home" in fails(2, "config", "validate").stderr


def test_show_fills_in_defaults(home: Path) -> None:
    result = ok("config", "show", "--home", home)
    shown = tomllib.loads(result.stdout)
    assert shown["limits"]["batch_entries_max"] == 500
    assert shown["node_id"] == "chengdu"
    assert f"# the store: sqlite:///{home.resolve() / 'ccnode.db'}" in result.stdout


def test_show_applies_the_environment_and_masks_the_password(home: Path) -> None:
    result = ok("config", "show", "--home", home, env={"CCNODE_DB_URL": PG})
    assert "s3cret" not in result.stdout
    assert tomllib.loads(result.stdout)["db"] == "postgresql://ccnode:***@db1:5432/ccnode"
    assert "from the environment (CCNODE_DB_URL)" in result.stdout
    doc = json.loads(
        ok("config", "show", "--home", home, "--json", env={"CCNODE_DB_URL": PG}).stdout
    )
    assert doc["db_url"] == doc["db"] == "postgresql://ccnode:***@db1:5432/ccnode"
    assert NodeConfig.load(home).db == ""  # nothing written


def test_a_password_in_the_file_is_masked_too(home: Path) -> None:
    config = NodeConfig.load(home)
    config.db = PG
    config.save()
    out = ok("config", "show", "--home", home).stdout
    assert "s3cret" not in out and "ccnode:***@db1" in out


def test_commands_convert_a_node_json_home(tmp_path: Path) -> None:
    home = tmp_path / "old"
    home.mkdir()
    data = {"node_id": "chengdu", "trust_domain": "t.court", "listen": "h:1",
            "limits": {"resync_interval_s": 30.0, "batch_entries_max": 40}}  # fmt: skip
    (home / "node.json").write_text(json.dumps(data))
    first = ok("config", "show", "--home", home)
    assert "converted" in first.stderr and "node.json.bak" in first.stderr
    assert tomllib.loads(first.stdout)["limits"]["batch_entries_max"] == 40
    second = ok("config", "show", "--home", home)
    assert "converted" not in second.stderr
    assert (home / "node.json.bak").exists() and not (home / "node.json").exists()
