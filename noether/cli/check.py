"""``noether-attention check FILE...``: every problem of every file; exit 0 only when all are valid."""

import argparse

from noether.cli.files import load_file
from noether.cli.spec import read_file, report


def run_check(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            data = load_file(path)
            _, problems = read_file(data)
        except Exception as exc:  # one bad file (or plugin) never stops the check of the others
            message = str(exc).replace(f"{path}: ", "", 1).replace(f"{path}, ", "", 1) or type(exc).__name__
            print(f"{path}: {message}")
            failed = True
            continue
        for line in report(path, problems):
            print(line)
        if problems:
            failed = True
        else:
            print(f"{path}: ok")
    return 1 if failed else 0
