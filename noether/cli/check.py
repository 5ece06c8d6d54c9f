"""``noether-attention check FILE...``: every problem of every file; exit 0 only when all are valid."""

import argparse

from noether.cli.files import load_file
from noether.cli.spec import read_file
from noether.core.schemas.errors import format_loc


def run_check(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            data = load_file(path)
        except (OSError, ValueError) as exc:
            print(f"{path}: {exc}".replace(f"{path}: {path}: ", f"{path}: "))
            failed = True
            continue
        _, problems = read_file(data)
        for problem in problems:
            print(f"{path}: {format_loc(problem.loc)}: {problem.message}")
        if problems:
            failed = True
        else:
            print(f"{path}: ok")
    return 1 if failed else 0
