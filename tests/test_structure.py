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
#: what each package (or module, the most specific name wins) may import, by dotted prefix:
#: rules use only the plain values a backend receives from provision, and only the worker,
#: which applies what the rules queued, stands above the rules
ALLOWED = {
    "config": {"config"},
    "models": {"models", "config"},
    "affiliate": {"affiliate", "models", "config"},
    "rules": {"rules", "models", "config", "provision.state", "provision.mailpass"},
    "provision": {"provision", "models", "config"},
    "provision.worker": {"provision", "models", "config", "rules"},
    "web": set(PACKAGES) | {"config"},
}
FIRST_PARTY = set(PACKAGES) | {"config", "wsgi"}
#: imports inside functions that stay: the app factory registers its blueprints (which import
#: the web package back), and the PDF library is loaded only when an invoice PDF is asked for.
#: (provision.worker loads a configured backend by name through importlib: not an import here.)
LAZY_ALLOWED = {("web", "web.blueprints"), ("web.pdf", "weasyprint")}


def _modules():
    found = {"config": ast.parse((ROOT / "config.py").read_text(), "config.py")}
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


def _may_import(name):
    rule = max((key for key in ALLOWED if name == key or name.startswith(key + ".")), key=len)
    return ALLOWED[rule]


def _within(imported, allowed):
    return any(imported == prefix or imported.startswith(prefix + ".") for prefix in allowed)


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for name, tree in MODULES.items():
        allowed = _may_import(name)
        for imported, _top in _imports(tree):
            first_party = imported.split(".")[0] in FIRST_PARTY
            if first_party and not _within(imported, allowed):
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_the_layer_rules_refuse_what_they_should():
    """The check itself: a rule importing the web, the link importing a rule, a backend
    importing a rule, the settings importing anything of the app are all refused."""
    assert not _within("web.htmx", _may_import("rules.billing"))
    assert not _within("rules.redirects", _may_import("affiliate.links"))
    assert not _within("rules.dns", _may_import("provision.backends.files.zones"))
    assert not _within("provision.worker", _may_import("rules.zone"))
    assert not _within("models", _may_import("config"))
    assert _within("rules.provisioning", _may_import("provision.worker"))


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
    assert lazy == LAZY_ALLOWED  # an entry no longer needed goes too


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
