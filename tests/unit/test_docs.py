"""The operator and contributor docs stay in step with the code they describe: every
configuration key and every metric is documented, and every relative link resolves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from node.config import NodeConfig
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
    """Every key of node.toml: the top-level fields, and each section's as ``section.key``."""
    keys: list[str] = []
    for name, field in NodeConfig.model_fields.items():
        section = field.annotation
        if name == "home":
            continue
        if isinstance(section, type) and issubclass(section, BaseModel):
            keys += [f"{name}.{key}" for key in section.model_fields]
        else:
            keys.append(name)
    return keys


def _row(key: str) -> list[str]:
    """The cells of ``key``'s row in its table of operations.md (``limits.x`` is the row
    ``| `x` |`` under the heading ``[limits]``)."""
    text = OPERATIONS.read_text(encoding="utf-8")
    section, _, name = key.rpartition(".")
    if section:
        start = text.find(f"`[{section}]`")
        assert start >= 0, f"[{section}]: no table in {OPERATIONS}"
        text = text[start:]
    for line in text.splitlines():
        if line.startswith(f"| `{name}` |"):
            return [cell.strip() for cell in line.strip("|").split("|")]
    raise AssertionError(f"{key}: not in {OPERATIONS}")


def _model(section: str) -> type[BaseModel]:
    if not section:
        return NodeConfig
    model = NodeConfig.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return model


def _default(key: str) -> object:
    section, _, name = key.rpartition(".")
    field = _model(section).model_fields[name]
    return field.get_default(call_default_factory=True)


@pytest.mark.parametrize("key", _config_keys())
def test_every_configuration_key_is_documented(key: str) -> None:
    cells = _row(key)
    default = _default(key)
    if default is not PydanticUndefined:
        shown = json.dumps(default, ensure_ascii=False)
        assert cells[1] == f"`{shown}`", f"{key}: default documented as {cells[1]}, not {shown}"


def _bounds(key: str) -> dict[str, Any]:
    section, _, name = key.rpartition(".")
    field = _model(section).model_fields[name]
    return {type(m).__name__: m for m in field.metadata if type(m).__name__ in _BOUND_TYPES}


_BOUND_TYPES = {"Ge", "Gt", "Le", "Lt"}


@pytest.mark.parametrize("key", [k for k in _config_keys() if _bounds(k)])
def test_every_ranged_key_has_its_range_documented(key: str) -> None:
    """A key with a range (every number) has a range column: ``[a, b]`` or ``(a, b]``."""
    bounds = _bounds(key)
    low = f"[{bounds['Ge'].ge}" if "Ge" in bounds else f"({bounds['Gt'].gt}"
    high = f"{bounds['Le'].le}]"
    assert _row(key)[2] == f"{low}, {high}", f"{key}: range is {low}, {high}"


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
