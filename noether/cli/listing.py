"""``noether-attention list``: metadata only, no torch and no plugin import."""

import argparse
import json

from noether.cli.table import table
from noether.registry.listing import rows


def run_list(args: argparse.Namespace) -> int:
    found = rows()
    if args.json:
        print(json.dumps([row._asdict() for row in found], indent=2))
        return 0
    body = [
        (row.name, f"{row.source} {row.version}".strip(), row.config_path,
         row.status + (f": {row.reason}" if row.reason else ""))
        for row in found
    ]  # fmt: skip
    print(table(("NAME", "SOURCE", "CONFIG", "STATUS"), body))
    return 0
