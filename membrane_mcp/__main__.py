import sys

from membrane_mcp.cli import main

sys.exit(main())
