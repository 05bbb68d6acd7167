"""`python -m backend.simulator …`: the same commands as `ttydesk simulator …`."""

import argparse
import sys

from .cli import add_simulator_commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.simulator")
    commands = parser.add_subparsers(dest="command", required=True)
    add_simulator_commands(commands)
    args = parser.parse_args(["simulator", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
