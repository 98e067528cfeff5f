"""The architecture as the README draws it, checked on the source: the layers import only
downwards (models <- rules <- web; models <- affiliate), no module takes part in an import
cycle, the rules import nothing inside functions (a lazy import hides a cycle), and the link
service loads without the panel."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "rules", "affiliate", "provision", "web")
#: which first-party packages each package may import
ALLOWED = {
    "models": {"models", "config"},
    "affiliate": {"affiliate", "models", "config"},
    "rules": {"rules", "models", "provision", "config"},
    "provision": {"provision", "models", "rules", "config"},
    "web": set(PACKAGES) | {"config"},
}
FIRST_PARTY = set(PACKAGES) | {"config", "wsgi"}
#: imports inside functions that stay: the app factory registers its blueprints (which import
#: the web package back), and the PDF library is loaded only when an invoice PDF is asked for
LAZY_ALLOWED = {("web", "web.blueprints"), ("web.pdf", "weasyprint")}


def _modules():
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = ast.parse(path.read_text(), str(path))
    return found


MODULES = _modules()


def _imports(tree):
    """(imported module, at module level?) for every import of the module."""
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # "from rules import billing" imports rules.billing; "from models import db" models
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            yield name, id(node) in top


def _graph():
    edges = {name: set() for name in MODULES}
    for name, tree in MODULES.items():
        for imported, _top in _imports(tree):
            target = imported
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges[name].add(target)
    return edges


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for name, tree in MODULES.items():
        package = name.split(".")[0]
        for imported, _top in _imports(tree):
            first = imported.split(".")[0]
            if first in FIRST_PARTY and first not in ALLOWED[package]:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_no_module_is_part_of_an_import_cycle():
    edges = _graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert cycles == []


def test_nothing_is_imported_inside_a_function_but_the_known_two():
    lazy = set()
    for name, tree in MODULES.items():
        for imported, top in _imports(tree):
            if not top:
                lazy.add((name, imported.rpartition(".")[0] or imported))
    assert lazy <= LAZY_ALLOWED, sorted(lazy - LAZY_ALLOWED)


@pytest.mark.parametrize("module", ["affiliate.app", "affiliate.wsgi"])
def test_the_link_service_loads_without_the_panel(module, tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": "x" * 64,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'links.db'}",
    }
    code = (
        f"import sys, {module}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        f"set({sorted(FIRST_PARTY)!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines()[-1] == repr(["affiliate", "config", "models"])
