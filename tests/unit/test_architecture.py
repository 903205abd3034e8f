"""The layering rules of docs/architecture.md, read from the code's imports (an ast walk, no import).

- No import cycle among the `hub` modules. Imports inside functions count (a lazy import is still a
  dependency); imports under `if TYPE_CHECKING:` do not (they never run: types only).
- Nothing in `hub.adapters` imports from `hub.services`, not even for types: what both need is in
  `hub.domain`, `hub.ports` or `hub.errors`.
- Every Protocol is in `hub/ports.py`, every exception in `hub/errors.py`, unless it is private to
  its module (a leading underscore).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "shared"
HUB = LAYER / "hub"
_BUILTIN_ERRORS = {"Exception", "ValueError", "LookupError", "RuntimeError", "KeyError", "TypeError", "OSError"}


@dataclass(frozen=True)
class Import:
    target: str
    line: int
    type_only: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LAYER).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(HUB.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, known: set[str]) -> list[Import]:
    """The hub modules `name` imports: `from a.b import c` names a.b.c when that is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, node.lineno, type_only) for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                target = full if full in known else base
                if target in known:
                    found.append(Import(target, node.lineno, type_only))
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(ast.parse(path.read_text()), False)
    return [i for i in dict.fromkeys(found) if i.target != name]  # one per module and line


def _graph(*, with_type_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {
        name: {i.target for i in _imports(name, path, known) if with_type_only or not i.type_only}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_walk_sees_lazy_imports_and_sets_type_only_ones_apart(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import hub.b\n"
        "if TYPE_CHECKING:\n"
        "    from hub.c import Thing\n"
        "def later():\n"
        "    from hub import d\n"
    )
    module = tmp_path / "a.py"
    module.write_text(source)
    found = _imports("hub.a", module, {"hub.b", "hub.c", "hub.d"})
    assert {(i.target, i.type_only) for i in found} == {("hub.b", False), ("hub.c", True), ("hub.d", False)}


def test_no_import_cycle_among_the_hub_modules() -> None:
    found = cycles(_graph(with_type_only=False))
    assert found == [], "import cycles among hub modules: " + "; ".join(" <-> ".join(c) for c in found)


# The change feeds run a delivery they rebuilt through intake's own parser for that source, so a
# change the reconciler finds becomes the very events its webhook would have (docs/reconciliation.md).
# They do it through ports: the sources come in FeedContext (hub.ports.WebhookSource, its
# WebhookRequest and Delivery; EventTypeSource for the types Stripe's feed lists).
# One exception remains. BigCommerce's webhooks carry ids only, so there is no webhook body to parse:
# its feed reads each listed order through hub.intake.bigcommerce's own reader (Notice,
# BigCommerceResources, with the listed order standing in for its read), as intake and
# resource_fetch do, plus that module's RFC 2822 dates and default API URL. A Protocol for that would
# have one implementer and one caller, both BigCommerce's, and would carry BigCommerce's own shapes
# (store hash, API URL, the V2 order document): it would rename the dependency, not remove it. The
# translation is intake's (each source module holds its vendor's models and their one translation).
# No other adapter may reach into hub.intake.
_FEEDS_USE_INTAKE = {
    ("hub.adapters.feeds.bigcommerce", "hub.intake.bigcommerce"),
}


def _adapter_imports_of(layer: str) -> list[tuple[str, str, int]]:
    modules = _modules()
    known = set(modules)
    return [
        (name, i.target, i.line)
        for name, path in modules.items()
        if name.startswith("hub.adapters")
        for i in _imports(name, path, known)
        if i.target == layer or i.target.startswith(layer + ".")
    ]


def test_no_adapter_imports_a_service() -> None:
    offending = [f"{name}:{line} imports {target}" for name, target, line in _adapter_imports_of("hub.services")]
    assert offending == [], "adapters must not import services: " + "; ".join(offending)


def test_no_adapter_but_the_change_feeds_imports_intake() -> None:
    found = _adapter_imports_of("hub.intake")
    offending = [
        f"{name}:{line} imports {target}" for name, target, line in found if (name, target) not in _FEEDS_USE_INTAKE
    ]
    assert offending == [], "adapters must not import hub.intake: " + "; ".join(offending)
    assert {(name, target) for name, target, _ in found} == _FEEDS_USE_INTAKE, "a feed no longer needs intake: drop it"


def _classes() -> list[tuple[str, ast.ClassDef]]:
    return [
        (name, node)
        for name, path in _modules().items()
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ClassDef)
    ]


def _base_names(node: ast.ClassDef) -> set[str]:
    return {ast.unparse(base).rpartition(".")[2] for base in node.bases}


def test_every_protocol_is_a_port_or_private() -> None:
    misplaced = [
        f"{module}.{node.name}"
        for module, node in _classes()
        if "Protocol" in _base_names(node) and module != "hub.ports" and not node.name.startswith("_")
    ]
    assert misplaced == [], f"protocols outside hub/ports.py (move them, or make them private): {misplaced}"


def test_every_exception_is_in_the_errors_module_or_private() -> None:
    classes = _classes()
    errors = {node.name for module, node in classes if module == "hub.errors"} | _BUILTIN_ERRORS
    misplaced = [
        f"{module}.{node.name}"
        for module, node in classes
        if module != "hub.errors" and not node.name.startswith("_") and _base_names(node) & errors
    ]
    assert misplaced == [], f"exceptions outside hub/errors.py (move them, or make them private): {misplaced}"
