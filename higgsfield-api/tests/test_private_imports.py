"""The service uses only the public API of the libraries it is built on: no module under src/
imports a private name (`_name`) or a private module (`tortoise.backends._x`) of them, nor names
one in a string (an `importlib` or `sys.modules` key)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
LIBRARIES = ("tortoise", "asyncmy", "aiomysql", "fastapi", "starlette")
DOTTED = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+")


def _private(dotted: str) -> bool:
    """A name of one of the LIBRARIES with a part that starts with `_` (dunders are public)."""
    first, *rest = dotted.split(".")
    return first in LIBRARIES and any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__")) for part in rest
    )


def private_names(source: str) -> list[str]:
    """The private names of the LIBRARIES that `source` imports or spells out in a string."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _private(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            found += [name for name in names if _private(name)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.fullmatch(node.value):
            found += [node.value] if _private(node.value) else []
    return sorted(set(found))


def test_the_check_finds_each_kind_of_private_import():
    source = "\n".join(
        [
            "import fastapi._compat",
            "import starlette.routing",
            "from tortoise.backends._shared import helper",
            "from tortoise.fields import DatetimeField",
            "from fastapi.dependencies.utils import _solve",
            "from aiomysql import __version__",
            "from asyncmy.connection import _Prepared as Prepared",
            "from . import _local",
            "CLIENT = 'tortoise.backends.mysql._client'",
            "TEXT = 'see fastapi._compat.v2 for why'",
        ]
    )
    assert private_names(source) == [
        "asyncmy.connection._Prepared",
        "fastapi._compat",
        "fastapi.dependencies.utils._solve",
        "tortoise.backends._shared",
        "tortoise.backends._shared.helper",
        "tortoise.backends.mysql._client",
    ]


def test_no_module_imports_a_private_name_of_a_library():
    found = {
        str(path.relative_to(SRC.parent)): names
        for path in sorted(SRC.rglob("*.py"))
        if (names := private_names(path.read_text()))
    }
    assert found == {}
