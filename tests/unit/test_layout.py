"""The package's layout keeps the promises docs/architecture.md makes: small modules, no import cycle, one
settings module, and every module named in the layout tree (so the next engineer finds each one there)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "copydicom_provider"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> set[str]:
    """Package modules that ``name`` imports, at any depth of its code, except under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {target for target in targets if target in MODULES and target != name}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines: split it by concern"


def test_the_package_has_no_import_cycle() -> None:
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    # A package's __init__ that re-exports its modules is not a cycle with them: Python imports the package first.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target] if target in trail else [node, target])
            elif target not in state:
                walk(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_only_the_config_module_reads_copydicom_variables() -> None:
    readers = []
    for name, path in MODULES.items():
        if name in ("copydicom_provider.config",) or name.startswith("copydicom_provider.testing"):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"(environ|getenv)[^\n]*[\"']COPYDICOM_", text):
            readers.append(name)
    assert not readers, f"these modules read COPYDICOM_* themselves instead of through config.py: {readers}"


def _layout_tree_paths() -> set[str]:
    """The files that the layout tree of docs/architecture.md names, as paths (indentation opens folders)."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = doc.split("## Layout", 1)[1].split("```", 2)[1]
    paths: set[str] = set()
    folders: list[tuple[int, str]] = []
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        names = line.strip().split("   ")[0]  # the names, before the description
        folders = [(depth, name) for depth, name in folders if depth < indent]
        prefix = "".join(name for _, name in folders)
        for name in (part.strip() for part in names.split(",")):
            if name.endswith("/"):
                folders.append((indent, name))
            else:
                paths.add(prefix + name)
    return paths


def test_every_module_is_in_the_layout_tree_of_docs_architecture() -> None:
    named = _layout_tree_paths()
    missing = [
        str(path.relative_to(ROOT))
        for path in MODULES.values()
        if path.name != "__init__.py" and str(path.relative_to(ROOT)) not in named
        and not any(str(path.relative_to(ROOT)).startswith(folder) for folder in FOLDERS_NAMED_WHOLE)
    ]
    assert not missing, f"docs/architecture.md's layout tree does not name these modules: {missing}"


#: Folders the layout names as one line: the Splunk stand-in, whose package docstring maps its modules.
FOLDERS_NAMED_WHOLE = ("copydicom_provider/testing/splunk/",)
