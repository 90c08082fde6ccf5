"""The import rules of the layout (docs/ARCHITECTURE.md), checked on the source.

Every import counts, at module level, inside functions and under ``TYPE_CHECKING`` alike: a
cycle hidden in a function is still a cycle a reader must untangle. The rules:

* no import cycle between modules of sync/, node/ and cli/;
* sync/ imports nothing of node/ or cli/ (it is the pure core);
* only node/runtime/ knows every part: nothing else imports it, except the two entry points
  that start a node (``python -m node``, ``ccnode serve``) importing node.runtime.serve;
* node/services/ and node/businesses/ reach other parts through ports, not node.runtime;
* cli/ imports of node/ are limited to what ``serve``, ``certs``, offline audit and the
  synthetic asset generator need.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sync", "node", "cli")

# What cli/ may import from node/ (prefixes of module names).
CLI_MAY_IMPORT = (
    "node.runtime.serve",  # ccnode serve
    "node.config",  # a home's configuration
    "node.logs",  # gRPC's log environment, set before grpc is imported
    "node.clock",  # court-local dates
    "node.identity",  # ccnode certs, offline trust of log certificates
    "node.store",  # offline audit of a store
    "node.businesses.lookups.samples",  # ccnode assets generate
)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imported(module: str, path: Path) -> Iterator[str]:
    """Project modules ``module`` imports, anywhere in the file."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the submodule when there is one, else a name of pkg.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            # A module's own packages are imported before it by Python itself: not an edge.
            if name and not _within(module, name):
                yield name


GRAPH = {m: sorted(set(_imported(m, p))) for m, p in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_every_kind_of_import() -> None:
    """The checker itself: function-level and TYPE_CHECKING imports are edges too."""
    assert "node.runtime.registry" in GRAPH["node.runtime.node"]
    assert "node.runtime.serve" in GRAPH["cli.node_cmds"]  # imported inside the command
    assert "node.ownlog.writer" in GRAPH["node.ports"]  # under TYPE_CHECKING


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_sync_imports_nothing_of_node_or_cli() -> None:
    bad = [
        (m, d)
        for m, deps in GRAPH.items()
        if _within(m, "sync")
        for d in deps
        if not _within(d, "sync")
    ]
    assert bad == []


def test_only_the_runtime_and_the_entry_points_import_the_runtime() -> None:
    entry_points = {"node.__main__", "cli.node_cmds"}
    bad = [
        (m, d)
        for m, deps in GRAPH.items()
        if not _within(m, "node.runtime")
        for d in deps
        if _within(d, "node.runtime") and not (m in entry_points and d == "node.runtime.serve")
    ]
    assert bad == []


def test_services_and_businesses_do_not_import_each_other_or_the_runtime() -> None:
    bad = [
        (m, d)
        for m, deps in GRAPH.items()
        if _within(m, "node.businesses") or _within(m, "node.replication")
        for d in deps
        if _within(d, "node.services") or _within(d, "node.runtime")
    ]
    assert bad == []


def test_cli_imports_only_what_serve_certs_and_offline_audit_need() -> None:
    bad = [
        (m, d)
        for m, deps in GRAPH.items()
        if _within(m, "cli")
        for d in deps
        if _within(d, "node") and not any(_within(d, p) for p in CLI_MAY_IMPORT)
    ]
    assert bad == []
