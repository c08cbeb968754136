"""`python -m tracegrad ...` is the `tracegrad` command."""
import sys

from .cli import main

sys.exit(main())
