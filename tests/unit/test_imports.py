"""The package's import graph, read from the source with ``ast``: no import circles between
modules, and each package imports only the layers docs/architecture.md allows it.

Circles are checked at module level only, because that is where one breaks: a module that
imports its importer while both are still loading finds it half-initialised. Imports under
``if TYPE_CHECKING:`` never run, and one inside a function runs after both modules have
loaded; that is how an RDD method builds an RDD kind defined in a module that imports
``rdd/base.py`` (the one accepted exception, commented where it occurs).

The layering rules count every import, inside functions and for typing only too: deferring an
import, or using a name only in annotations, still makes a module depend on that layer.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import minispark

PACKAGE_DIR = Path(minispark.__file__).parent

# The packages that are processes of their own (or, for the driver, the runtime inside the
# user's program); a shared top-level module must work in every one of them.
PROCESS_PACKAGES = ("driver", "executor", "master", "worker", "history")

# package -> the packages its modules may not import
FORBIDDEN = {
    "rdd": ("driver", "executor", "master", "worker", "history", "ops", "deploy"),
    "driver": ("master", "worker", "executor", "history"),
    "executor": ("driver", "master", "history"),
    "master": ("worker", "driver", "executor", "history"),
    "worker": ("master", "driver", "history"),
    "history": ("driver", "executor", "master", "worker"),
}

# Entry points rather than shared code: the `minispark` command starts every daemon, so
# importing each of them (inside the function that starts it) is its job.
ENTRY_POINTS = ("minispark.cli", "minispark.__main__")


# When an import runs: as the module is imported, when a function is called, or never (under
# ``if TYPE_CHECKING:``, for the type checker only).
MODULE, FUNCTION, TYPING = "module level", "inside a function", "for typing only"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    when: str


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_nodes(
    body: list[ast.stmt], when: str = MODULE
) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement under ``body``, and when it runs (class bodies run with the
    module, function bodies only when called)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, when
        elif isinstance(node, ast.If) and is_type_checking(node.test):
            yield from import_nodes(node.body, TYPING)
            yield from import_nodes(node.orelse, when)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from import_nodes(node.body, FUNCTION if when == MODULE else when)
        else:
            yield from import_nodes(nested_statements(node), when)


def nested_statements(node: ast.stmt) -> list[ast.stmt]:
    """The statements inside a compound statement (class, if, try, with, for, match)."""
    found: list[ast.stmt] = []
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, field, None) or []:
            if isinstance(child, ast.stmt):
                found.append(child)
            elif isinstance(child, ast.ExceptHandler | ast.match_case):
                found.extend(child.body)
    return found


def resolve(
    importer: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: Collection[str]
) -> list[str]:
    """The ``known`` modules that ``node`` imports: ``from pkg import name`` is the module
    ``pkg.name`` when there is one, else ``pkg``."""
    if isinstance(node, ast.Import):
        return sorted({alias.name for alias in node.names} & set(known))
    if node.level:
        anchor = importer.split(".") if is_package else importer.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    found = set()
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        if candidate in known:
            found.add(candidate)
        elif base in known:
            found.add(base)
    return sorted(found)


def imports_in(
    importer: str, is_package: bool, tree: ast.Module, known: Collection[str]
) -> list[Import]:
    return [
        Import(importer, imported, node.lineno, when)
        for node, when in import_nodes(tree.body)
        for imported in resolve(importer, is_package, node, known)
        if imported != importer
    ]


def all_imports() -> list[Import]:
    modules = all_modules()
    imports = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        imports.extend(imports_in(name, path.name == "__init__.py", tree, modules))
    return imports


def find_circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each group of mutually importing modules (Tarjan's strongly
    connected components, then a path back to the group's first module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [circle_through(group, edges) for group in groups]


def circle_through(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest import path from the group's first module back to itself."""
    start = group[0]
    members = set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(edges.get(node, set()) & members):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{group} is not a strongly connected group")


def layer_of(module: str) -> str:
    """The top-level package or module under minispark that ``module`` belongs to ("" for
    minispark itself, whose public names are imported lazily by name)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def is_shared_module(module: str) -> bool:
    """A top-level module (or top-level package such as conf) that is none of the process
    packages, the user's API, the operators' tools or an entry point."""
    layer = layer_of(module)
    return (
        layer not in (*PROCESS_PACKAGES, "rdd", "ops", "deploy", "") and module not in ENTRY_POINTS
    )


def layering_violations(imports: list[Import]) -> list[str]:
    found = []
    for imp in imports:
        forbidden = FORBIDDEN.get(layer_of(imp.importer), ())
        if is_shared_module(imp.importer):
            forbidden = PROCESS_PACKAGES
        if layer_of(imp.imported) in forbidden:
            found.append(f"{imp.importer}:{imp.line} imports {imp.imported} ({imp.when})")
    return found


# ---------------------------------------------------------------- the rules


def test_no_module_imports_itself_in_a_circle() -> None:
    edges: dict[str, set[str]] = {}
    for imp in all_imports():
        if imp.when == MODULE:
            edges.setdefault(imp.importer, set()).add(imp.imported)
    circles = [" -> ".join(circle) for circle in find_circles(edges)]
    assert not circles, "import circles at module level:\n" + "\n".join(circles)


def test_packages_import_only_the_layers_below_them() -> None:
    violations = layering_violations(all_imports())
    assert not violations, "imports across the layering rules:\n" + "\n".join(violations)


# ---------------------------------------------------------------- the reader itself


READER_SAMPLE = """
from __future__ import annotations
import json
import pkg.a
from . import b
from .c import thing
from pkg import d, not_a_module
if TYPE_CHECKING:
    from .e import SomeType
else:
    from . import f
try:
    from . import g
except ImportError:
    from . import h
class K:
    from . import i
def run():
    from ..top import j
    if TYPE_CHECKING:
        from . import k
"""


def test_the_reader_sees_when_each_import_runs() -> None:
    known = {"pkg", "pkg.a", "pkg.d", "pkg.top", "pkg.sub"}
    known |= {f"pkg.sub.{name}" for name in "bcefghik"}
    found = imports_in("pkg.sub.m", False, ast.parse(READER_SAMPLE), known)
    assert {(imp.imported, imp.when) for imp in found} == {
        ("pkg.a", MODULE),
        ("pkg.sub.b", MODULE),  # from . import module: the module
        ("pkg.sub.c", MODULE),  # from .module import name: the module
        ("pkg.d", MODULE),
        ("pkg", MODULE),  # from package import a name that is no module: the package
        ("pkg.sub.e", TYPING),
        ("pkg.sub.f", MODULE),
        ("pkg.sub.g", MODULE),
        ("pkg.sub.h", MODULE),
        ("pkg.sub.i", MODULE),  # a class body runs with the module
        ("pkg.top", FUNCTION),
        ("pkg.sub.k", TYPING),
    }
    # In a package's __init__, "." is the package itself.
    found = imports_in("pkg.sub", True, ast.parse("from . import b"), known)
    assert [imp.imported for imp in found] == ["pkg.sub.b"]


def test_a_circle_is_found_and_named() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}}
    assert find_circles(edges) == [["a", "b", "c", "a"], ["e", "e2", "e"]]
    assert find_circles({"a": {"b"}, "b": set()}) == []


def test_a_layering_violation_is_named_with_its_line() -> None:
    imports = [
        Import("minispark.rdd.pipe", "minispark.driver.context", 7, FUNCTION),
        Import("minispark.security", "minispark.master.web", 3, TYPING),
        Import("minispark.master.web", "minispark.worker.web", 9, MODULE),
        # allowed: the worker serves its executors' shuffle files; the CLI starts daemons
        Import("minispark.worker.worker", "minispark.executor.shuffle", 1, MODULE),
        Import("minispark.cli", "minispark.worker.worker", 5, FUNCTION),
    ]
    assert layering_violations(imports) == [
        "minispark.rdd.pipe:7 imports minispark.driver.context (inside a function)",
        "minispark.security:3 imports minispark.master.web (for typing only)",
        "minispark.master.web:9 imports minispark.worker.web (module level)",
    ]
