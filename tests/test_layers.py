"""The layers of ARCHITECTURE.md, held by the imports each module makes (read with ``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "clv_xl"
MAX_LINES = 520  # "no module over about 500 lines"

#: What each layer may not import: a module name, or a prefix of one.
FORBIDDEN = {
    "functions": ("pandas", "openpyxl", "xlwings", "clv_xl.orders", "clv_xl.analysis",
                  "clv_xl.report", "clv_xl.excel", "clv_xl.templates"),
    "models": ("openpyxl", "xlwings", "clv_xl.orders", "clv_xl.analysis", "clv_xl.report",
               "clv_xl.excel", "clv_xl.templates"),
    "orders": ("openpyxl", "xlwings", "clv_xl.analysis", "clv_xl.report", "clv_xl.excel",
               "clv_xl.templates"),
    "analysis": ("openpyxl", "xlwings", "clv_xl.report", "clv_xl.excel", "clv_xl.templates"),
    "report": ("xlwings", "clv_xl.excel", "clv_xl.templates"),
    "templates": ("xlwings",),
}  # fmt: skip


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    assert modules(layer), f"no modules in clv_xl/{layer}"
    breaches = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in modules(layer)
        for name in imports(path)
        for banned in FORBIDDEN[layer]
        if name == banned or name.startswith(banned + ".")
    }
    assert not breaches, sorted(breaches)


def test_no_relative_imports() -> None:
    """Absolute imports only: a module's imports read the same wherever it moves."""
    relative = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert not relative, relative


def test_no_module_is_over_about_500_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


def test_the_checks_see_a_breach(tmp_path: Path) -> None:
    """The import reader finds imports inside functions and ``from`` forms alike."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from clv_xl.report import style\n    import openpyxl\n")
    assert {"clv_xl.report", "clv_xl.report.style", "openpyxl"} <= imports(module)
