"""The declared layer order (dvta_live/layers.py) holds: no module imports a layer above its own, and no
imports run in a circle. Function-level and TYPE_CHECKING imports count: they are the same dependency."""

from __future__ import annotations

import ast
from pathlib import Path

from dvta_live.layers import LAYERS, layer_of

PACKAGE = Path(__file__).resolve().parents[1] / "dvta_live"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def internal_imports(path: Path, module: str) -> set[str]:
    """The dvta_live modules ``path`` imports (``from X import name`` counts X.name when that is a module)."""
    found = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "dvta_live"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "dvta_live":
                continue
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    return {m: {t for t in internal_imports(p, m) if t in modules and t != m} for m, p in modules.items()}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
            for m, targets in sorted(graph.items()) for t in sorted(targets) if layer_of(t) > layer_of(m)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_is_in_a_layer() -> None:
    for module in import_graph(PACKAGE):
        layer_of(module)  # raises for a module no layer holds


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert upward_imports(import_graph(PACKAGE)) == []


def test_imports_never_run_in_a_circle() -> None:
    assert cycles(import_graph(PACKAGE)) == []


def test_a_planted_upward_import_and_cycle_are_caught(tmp_path: Path) -> None:
    """The checks on a copy of a small tree with one upward import (skeleton -> realtime) and one circle."""
    root = tmp_path / "dvta_live"
    for rel, text in {
        "__init__.py": "",
        "errors.py": "",
        "skeleton/__init__.py": "",
        "skeleton/recipe.py": "from dvta_live.realtime.live import LiveConfig\n",
        "realtime/__init__.py": "",
        "realtime/live.py": "def f():\n    from dvta_live.realtime import buffer\n",
        "realtime/buffer.py": "import dvta_live.realtime.live\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    graph = import_graph(root)
    assert upward_imports(graph) == ["dvta_live.skeleton.recipe (skeleton data) imports dvta_live.realtime.live (live)"]
    assert cycles(graph) == [["dvta_live.realtime.buffer", "dvta_live.realtime.live"]]
