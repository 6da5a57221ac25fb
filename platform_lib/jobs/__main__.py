"""``python -m platform_lib.jobs run <job dir>``: the entry point of a detached job process."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "run":
        print("usage: python -m platform_lib.jobs run <job dir>", file=sys.stderr)
        return 64
    from platform_lib.jobs._runner import run_job

    return run_job(args[1])


if __name__ == "__main__":
    sys.exit(main())
