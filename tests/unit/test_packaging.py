"""What the wheel ships, read from pyproject.toml the way setuptools reads it (no build).

The installed import names are generic (README.md "Installing"), so a fifth top-level name
must be a decision, not an accident. Package discovery skips a directory without an
__init__.py (namespaces = false), which would work from the checkout and be missing from the
wheel; and a data file the code reads must be declared as package data. The slow test that
builds and installs the wheel is tests/integration/test_wheel.py.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
from setuptools.config.pyprojecttoml import read_configuration

REPO = Path(__file__).resolve().parents[2]
TOP_LEVEL = {"sync", "node", "cli", "ccnode"}
SOURCE_ROOTS = {"sync": REPO / "sync", "node": REPO / "node", "cli": REPO / "cli"}
SOURCE_ROOTS["ccnode"] = REPO / "proto" / "ccnode"
# Development configuration beside the code, not read by it.
NOT_SHIPPED = {"ruff.toml"}


def _setuptools_config() -> dict[str, object]:
    config = read_configuration(REPO / "pyproject.toml")["tool"]["setuptools"]
    assert isinstance(config, dict)
    return config


def _packages() -> set[str]:
    packages = _setuptools_config()["packages"]
    assert isinstance(packages, list)
    return set(packages)


def _source_dirs() -> dict[str, Path]:
    """Every directory holding Python code, by the dotted name it is imported as."""
    found: dict[str, Path] = {}
    for top, root in SOURCE_ROOTS.items():
        for module in root.rglob("*.py"):
            rel = module.parent.relative_to(root)
            found[".".join((top, *rel.parts))] = module.parent
    return found


def test_only_the_four_top_level_names_are_installed() -> None:
    assert {name.split(".")[0] for name in _packages()} == TOP_LEVEL


def test_every_package_directory_is_shipped() -> None:
    assert _packages() == set(_source_dirs())


@pytest.mark.parametrize("package", ["node.services", "node.store.migrations.versions"])
def test_subpackages_once_missing_are_shipped(package: str) -> None:
    assert package in _packages()


def test_every_data_file_is_package_data() -> None:
    declared = _setuptools_config()["package-data"]
    assert isinstance(declared, dict)
    missing = []
    for package, directory in _source_dirs().items():
        globs = [*declared.get(package, []), *declared.get("*", [])]
        for path in directory.iterdir():
            if not path.is_file() or path.suffix in (".py", ".pyc") or path.name in NOT_SHIPPED:
                continue
            if not any(fnmatch.fnmatch(path.name, g) for g in globs):
                missing.append(f"{package}: {path.name}")
    assert missing == []
