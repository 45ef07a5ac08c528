"""`python -m sta_server.api.openapi openapi/openapi.json`: write the committed document."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from sta_server.api.openapi import document


def main(argv: list[str]) -> None:
    target = Path(argv[1] if len(argv) > 1 else "openapi/openapi.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv)
