"""`python -m tracegrad.engine COMMAND`: the engine's commands (see teach/cli.py)."""
import sys

from .teach.cli import main

sys.exit(main())
