"""Apply a fix to a third-party module as soon as it is imported (now, when it already is), importing nothing.

Owns :func:`after_import`, used by the platform's workarounds of upstream modules (:mod:`platform_lib.votable`,
:mod:`platform_lib.offline`), so that ``import platform_lib`` and every kernel's startup file can install them
without importing astropy or pyvo ahead of need. Standard library only.
"""

from __future__ import annotations

import sys
from typing import Callable

__all__ = ["after_import"]


class _FixOnImport:
    """A ``sys.meta_path`` finder that only wraps the loading of one module (found by the finders after it) so that
    its fix runs right after the module's own code."""

    def __init__(self, fullname: str, fix: Callable) -> None:
        self.fullname, self.fix = fullname, fix

    def find_spec(self, fullname, path, target=None):
        if fullname != self.fullname:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original, fix = loader.exec_module, self.fix

        def exec_module(module):
            original(module)
            fix(module)

        loader.exec_module = exec_module  # this loader instance loads this module only
        return spec


def after_import(fullname: str, fix: Callable) -> None:
    """Call ``fix(module)`` on the module ``fullname`` now if it is imported, else right after it is.

    Idempotent for one ``(fullname, fix)``: the hook is installed once.
    """
    module = sys.modules.get(fullname)
    if module is not None:
        fix(module)
    if not any(isinstance(f, _FixOnImport) and (f.fullname, f.fix) == (fullname, fix) for f in sys.meta_path):
        sys.meta_path.insert(0, _FixOnImport(fullname, fix))
