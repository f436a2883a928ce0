"""The bundle's entry point: `membrane-mcp serve` over stdio, configured by the environment.

The host (Claude Desktop) runs it with `uv run`, which installs membrane-mcp and its pinned
dependencies from the bundle's pyproject.toml; the settings arrive as environment variables
from the manifest's `user_config` (empty ones count as unset).
"""

import sys

from membrane_mcp.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
