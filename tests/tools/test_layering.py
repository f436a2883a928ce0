"""The tools layer has no import cycles, and nothing in it reaches back into the gateway."""

from __future__ import annotations

import ast
from pathlib import Path

import membrane_mcp.tools

TOOLS = Path(membrane_mcp.tools.__file__).parent


def imports_of(path: Path) -> set[str]:
    """The membrane_mcp.tools modules a module imports (TYPE_CHECKING blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "membrane_mcp.tools":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("membrane_mcp.tools."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names if a.name.startswith("membrane_mcp.tools."))
    return found - {path.stem}


def test_no_import_cycle_among_the_tools_modules():
    graph = {path.stem: imports_of(path) for path in TOOLS.glob("*.py") if path.stem != "__init__"}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        assert module not in visiting, f"import cycle: {' -> '.join([*visiting, module])}"
        if module in done:
            return
        visiting.append(module)
        for imported in sorted(graph.get(module, ())):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_only_the_gateway_and_nothing_below_it_knows_the_gateway():
    importers = [path.stem for path in TOOLS.glob("*.py") if "gateway" in imports_of(path)]
    assert importers == []
