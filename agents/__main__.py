"""`python -m agents run <site.yaml>` (agents/cli.py)."""
import sys

from agents.cli import main

sys.exit(main())
