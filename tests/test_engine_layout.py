"""The floor plan: imports run one way (no circle between files, read from the source with
ast), the core (engine/'s own files) imports nothing from the teaching tools, the replay,
nn or the command line, and `import tracegrad.engine` loads no third-party package."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"engine": "tracegrad.engine", "nn": "tracegrad.nn", "tracegrad": "tracegrad"}
CORE = ["value", "ops", "graph", "modes", "text"]


def modules():
    """Every module of the package: name -> path."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def _type_checking_only(node):
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports(name, path, known):
    """The package's modules that module `name` imports, anywhere in it (functions too),
    except under `if TYPE_CHECKING:` (read by type checkers only, never run)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if _type_checking_only(node):
            continue
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from X import y`: the module X.y if there is one, else X itself
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def import_graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycle(graph):
    """One import circle as a list of modules, or None."""
    state = {}
    for start in graph:
        if start in state:
            continue
        path, stack = [], [(start, iter(sorted(graph[start])))]
        state[start] = "open"
        path.append(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "done"
                stack.pop()
                path.pop()
            elif state.get(child) == "open":
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = "open"
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_the_reader_finds_imports():
    graph = import_graph()
    assert "tracegrad.engine.ops" in graph["tracegrad.engine.value"]
    assert "tracegrad.engine.graph" in graph["tracegrad.engine.value"]
    assert "tracegrad.engine.value" not in graph["tracegrad.engine.graph"]   # TYPE_CHECKING only
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


# none left: batch.py takes TapeError from replay/errors.py, not from tape.py (which makes a
# batch.Replay)
PENDING: set[tuple[str, str]] = set()


def test_no_import_circles_between_files():
    graph = import_graph()
    for module, imported in PENDING:
        graph[module].discard(imported)
    assert cycle(graph) is None


@pytest.mark.parametrize("core", CORE)
def test_the_core_imports_only_the_core(core):
    allowed = {f"tracegrad.engine.{name}" for name in CORE}
    assert import_graph()[f"tracegrad.engine.{core}"] <= allowed


def test_importing_the_engine_loads_no_third_party_package():
    code = ("import sys, tracegrad.engine as e; e.Value(2.0).tanh().backward(); "
            "print(sorted(m for m in ('graphviz', 'tqdm', 'numpy', 'torch', 'matplotlib') "
            "if m in sys.modules)); "
            "print(sorted(m for m in sys.modules if m.startswith('tracegrad')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    third_party, ours = result.stdout.splitlines()
    assert third_party == "[]", result.stderr
    assert eval(ours) == ["tracegrad", "tracegrad.engine",
                          *sorted(f"tracegrad.engine.{name}" for name in CORE)]


def test_importing_nn_loads_neither_the_teaching_tools_nor_graphviz():
    # training needs only the core: the teaching tools (and the stepper's graphviz) load
    # when a drawing, a table or torch's bridge is asked for
    code = ("import sys, tracegrad.nn as nn; nn.MLP(2, [3, 1], seed=0)([1.0, 2.0]); "
            "print(sorted(m for m in ('graphviz', 'tqdm', 'torch') if m in sys.modules)); "
            "print('tracegrad.engine.teach' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.stdout.splitlines() == ["[]", "False"], result.stderr
