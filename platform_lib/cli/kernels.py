"""The ``astrohub kernels`` command group: compile the crossmatch kernel (and hats' ``align_trees``) ahead of use.

Thin: calls :func:`platform_lib.crossmatch.compile_kernels`. ``make install`` and the user image's
build run ``astrohub kernels compile``, so a user's first crossmatch loads compiled code instead of
spending 25 to 65 s compiling it.
"""

from __future__ import annotations

__all__ = ["register"]


def register(subparsers) -> None:
    """Add ``kernels compile`` to the ``astrohub`` parser."""
    parser = subparsers.add_parser("kernels", help="compile the numba crossmatch kernel (install step)")
    sub = parser.add_subparsers(dest="kernels_command", required=True, metavar="ACTION")
    p = sub.add_parser("compile", help="fill the platform-wide numba cache that user servers copy")
    p.add_argument("--cache-dir", help="the cache folder (default: <sys.prefix>/share/astrohub/numba-cache)")
    p.set_defaults(func=_compile)


def _compile(args) -> int:
    from platform_lib.crossmatch import compile_kernels

    target = compile_kernels(args.cache_dir)
    print(f"crossmatch kernel compiled into {target}")
    return 0
