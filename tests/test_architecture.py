"""The layout ARCHITECTURE.md describes, checked: one direction of imports and no cycle
(grimp reads every import, function-level ones included), rules called only where they
belong, and no write service with a default actor."""

import ast
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "registry", "portfolio", "api", "web", "demo", "config")
# Highest first: a package may import those below it, never those above; api and web never
# import each other.
LAYERS = ("config", "demo", grimp.Layer("api", "web", independent=True), "portfolio", "registry", "core")
# Where a rule (`can_*`) may be called: the access modules themselves and the services that
# authorize their actor (the inventory importers and the page imports are services too).
RULE_CALLERS = ("registry/access.py", "portfolio/access.py", "registry/services/", "portfolio/services/",
                "registry/inventory/", "web/imports.py")


@pytest.fixture(scope="module")
def graph():
    sys.path.insert(0, str(ROOT))
    return grimp.build_graph(*PACKAGES)


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_no_module_imports_itself_back_through_others(graph):
    assert _cycles(graph) == []


def test_imports_go_one_way(graph):
    illegal = graph.find_illegal_dependencies_for_layers(layers=LAYERS)
    assert not illegal, [(d.importer, d.imported, [r.heads for r in d.routes]) for d in illegal]


def test_nothing_imports_demo_and_no_domain_module_imports_config(graph):
    for package in ("demo", "config"):
        importers = {m for m in graph.find_downstream_modules(package, as_package=True)
                     if not m.startswith(("demo", "config"))}
        assert importers == set(), (package, importers)


def _python_files():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), filename=str(path))


def test_rules_are_called_only_by_the_access_modules_and_the_services():
    misplaced = []
    for name, tree in _python_files():
        if name.startswith(RULE_CALLERS):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if called.startswith("can_"):
                    misplaced.append(f"{name}:{node.lineno} {called}")
    assert misplaced == []


def test_no_function_defaults_its_actor():
    defaulted = []
    for name, tree in _python_files():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = node.args
                keyword = list(zip(arguments.kwonlyargs, arguments.kw_defaults))
                positional = list(zip(arguments.args[len(arguments.args) - len(arguments.defaults):], arguments.defaults))
                for argument, default in keyword + positional:
                    if argument.arg == "actor" and default is not None:
                        defaulted.append(f"{name}:{node.lineno} {node.name}")
    assert defaulted == []
