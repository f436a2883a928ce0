"""The sandbox is its own package: it imports nothing from the product, and the product reaches it
only through the names ``membrane_sandbox`` exports (``start_in_thread``, ``SandboxConfig``...)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import membrane_sandbox

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file; relative imports resolved against the file's package."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def test_the_sandbox_source_imports_nothing_from_the_product() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / "membrane_sandbox").rglob("*.py"))
        for line, module in _imported_modules(path)
        if module == "membrane_mcp" or module.startswith("membrane_mcp.")
    ]
    assert offending == []


def test_the_product_uses_only_the_sandbox_package_entry_point() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / "membrane_mcp").rglob("*.py"))
        for line, module in _imported_modules(path)
        if module.startswith("membrane_sandbox.")
        and module.removeprefix("membrane_sandbox.") not in membrane_sandbox.__all__
    ]
    assert offending == []


def test_importing_and_starting_the_sandbox_loads_no_product_module() -> None:
    script = (
        "import sys, httpx, membrane_sandbox\n"
        "from membrane_sandbox.apps import load_apps\n"
        "load_apps()\n"
        "with membrane_sandbox.start_in_thread(membrane_sandbox.SandboxConfig()) as sandbox:\n"
        "    headers = {'Authorization': 'Bearer ' + sandbox.token}\n"
        "    assert httpx.get(sandbox.url + '/connections', headers=headers).status_code == 200\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'membrane_mcp'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
