"""`python -m tracegrad.site -o out/site` builds the static site folder (see build.py)."""
import sys

from .build import main

sys.exit(main())
