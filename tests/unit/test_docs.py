"""The operator and contributor docs stay in step with the code they describe: every
configuration key and every metric is documented, and every relative link resolves."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from node.config import Limits, NodeConfig, Retention
from node.metrics import Metrics

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "docs" / "operations.md"
LINKED_DOCS = [
    REPO / "README.md",
    REPO / "CONTRIBUTING.md",
    REPO / "CHANGELOG.md",
    REPO / "certs" / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _config_keys() -> list[str]:
    keys = [f.name for f in dataclasses.fields(NodeConfig) if f.name not in {"home", "limits"}]
    return (
        keys
        + [f.name for f in dataclasses.fields(Limits)]
        + [f.name for f in dataclasses.fields(Retention)]
    )


@pytest.mark.parametrize("key", _config_keys())
def test_every_configuration_key_is_documented(key: str) -> None:
    assert f"| `{key}` |" in OPERATIONS.read_text(encoding="utf-8"), f"{key}: not in {OPERATIONS}"


def test_every_metric_is_documented() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    names = [family.name for family in Metrics().registry.collect()]
    assert names, "no metric families collected"
    missing = [name for name in names if f"`{name}" not in text]
    assert missing == [], f"metrics not in {OPERATIONS}: {missing}"


@pytest.mark.parametrize("doc", LINKED_DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(doc: Path) -> None:
    targets = [m.group(1) for m in _LINK.finditer(doc.read_text(encoding="utf-8"))]
    broken = [
        target
        for target in targets
        if "://" not in target
        and not target.startswith("#")
        and not (doc.parent / target.split("#", 1)[0]).exists()
    ]
    assert broken == [], f"{doc.relative_to(REPO)}: links to missing files {broken}"
