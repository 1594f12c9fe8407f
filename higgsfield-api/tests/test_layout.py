"""The code's layout rules, checked on its source: imports point one way, and task statuses
are written in one module only."""

from __future__ import annotations

import ast
import uuid
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
TRANSITIONS = SRC / "tasks" / "transitions.py"
# Lower layers never import higher ones (at run time; `if TYPE_CHECKING:` imports are types only).
LAYERS = {
    "src.core": {"src.core"},
    "src.db": {"src.core", "src.db"},
    "src.blobs": {"src.core", "src.blobs"},
    "src.jobs": {"src.core", "src.db", "src.jobs"},
    "src.web": {
        "src.core",
        "src.db",
        "src.jobs",
        "src.web",
        "src.metrics.prometheus",
    },
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in SRC.rglob("*.py") if "migrations" not in path.parts}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The service's modules `path` imports when it runs, anywhere in it (function-level too)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("src"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("src"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name in known}


def test_no_import_cycle_between_modules() -> None:
    known = modules()
    graph = {name: runtime_imports(path, known) - {name} for name, path in known.items()}
    # Packages import their own modules in __init__: that is not a cycle of code.
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                walk(target)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_lower_layers_import_nothing_above_them() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        for layer, allowed in LAYERS.items():
            if name == layer or name.startswith(layer + "."):
                for target in runtime_imports(path, known):
                    if not any(target == a or target.startswith(a + ".") for a in allowed):
                        wrong.append(f"{name} imports {target}")
    assert wrong == []


def _root(node: ast.expr) -> str | None:
    """`Task` for `Task.filter(...).exclude(...).update`: the name a call chain starts from."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _status_writes(tree: ast.AST) -> Iterator[int]:
    """Lines that write a task's status: `Task....update(status=...)`, `Task....update(**...)`
    (which may hide one), `Task.create(status=...)` other than with the initial status."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if _root(node.func) != "Task":
            continue
        if node.func.attr not in ("update", "create", "bulk_update", "update_or_create", "get_or_create"):
            continue
        for keyword in node.keywords:
            if keyword.arg == "status":
                initial = ast.unparse(keyword.value) == "transitions.INITIAL_STATUS"
                if not (node.func.attr == "create" and initial):
                    yield node.lineno
            elif keyword.arg is None and node.func.attr == "update":
                yield node.lineno


# Writes of other fields to a claimed task; it refuses `status` itself (see test below).
ALLOWED = {"src/jobs/claims.py": "update_claimed"}


def _allowed_lines(path: Path, tree: ast.AST) -> set[int]:
    name = ALLOWED.get(str(path.relative_to(SRC.parent)))
    return {
        line
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.name == name
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }


def test_task_statuses_are_written_only_by_the_transitions_module() -> None:
    writes = []
    for path in SRC.rglob("*.py"):
        if path == TRANSITIONS or "migrations" in path.parts or "sandbox" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        allowed = _allowed_lines(path, tree)
        writes += [
            f"{path.relative_to(SRC.parent)}:{line}" for line in _status_writes(tree) if line not in allowed
        ]
    assert writes == [], "status written outside src/tasks/transitions.py: " + ", ".join(writes)


def test_the_status_check_finds_a_status_write() -> None:
    """The check above would pass on code it cannot read: it must see these."""
    sample = ast.parse(
        "async def f():\n"
        "    await Task.filter(id=1).update(status='failed')\n"
        "    await Task.filter(id=1).update(**fields)\n"
        "    await Task.create(status='queued')\n"
    )
    assert list(_status_writes(sample)) == [2, 3, 4]


async def test_a_claimed_write_refuses_a_status() -> None:
    import pytest

    from src.jobs.claims import update_claimed

    with pytest.raises(ValueError, match="transitions"):
        await update_claimed(uuid.uuid4(), "token", status="failed")
