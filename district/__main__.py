"""`python -m district`: see district/cli.py."""
import sys

from district.cli import main

sys.exit(main())
