"""nbgrader takes its configuration only from Jupyter's config folders, never from a class's shared course folder.

nbgrader runs every ``nbgrader_config.py`` (and reads every ``nbgrader_config.json``) it finds in the course
directory (``CourseDirectory.root``, unconditionally, in ``NbGrader.initialize``) and in its working folder,
as well as in Jupyter's config folders. A class's course folder (``instructors/nbgrader``) is writable by every
instructor of the class, so a file one of them put there would run as whichever instructor grades next or opens
formgrader. :func:`trusted_config_only` makes nbgrader's apps read a configuration file only when it lies
(links resolved) directly in one of Jupyter's config folders (``jupyter --paths``: the user's own
``~/.jupyter``, ``JUPYTER_CONFIG_PATH`` and the environment's and the system's folders, which only the user or
root can write); any other one is skipped with a warning in nbgrader's log naming it. It sets traitlets' own
loader hooks (``python_config_loader_class``, ``json_config_loader_class``) on nbgrader's base app, so it
holds for every nbgrader app of the process and for every load, however late (no window between a check and
the load).

Used by the classes service's grading steps (``python -I -m astrohub_server.gradingconfig <nbgrader
arguments>``, or :func:`main` from their code; :mod:`astrohub_hub.grading`: run outside the course folder, so
nothing of it is on ``sys.path`` either) and by formgrader in an instructor's server
(:mod:`astrohub_server.formgrader`). May import the standard library, jupyter_core, traitlets and nbgrader.
"""

from __future__ import annotations

import logging
import os
import sys

from jupyter_core.paths import jupyter_config_path
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

__all__ = ["TEMPLATES", "main", "offline_pages", "trusted", "trusted_config_only"]

#: nbconvert templates of the platform, searched before nbgrader's and nbconvert's own (``base/mathjax.html.j2``:
#: the pages nbgrader writes, feedback and formgrade, load nothing from the internet).
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbconvert_templates")

log = logging.getLogger("astrohub.gradingconfig")


def trusted(filename: str) -> bool:
    """Whether ``filename`` (links resolved) lies directly in one of Jupyter's config folders of now."""
    folders = {os.path.realpath(folder) for folder in jupyter_config_path()}
    return os.path.dirname(os.path.realpath(filename)) in folders


class _TrustedOnly:
    """A traitlets file config loader that finds a file only in Jupyter's config folders (:func:`trusted`)."""

    def _find_file(self) -> None:
        super()._find_file()  # type: ignore[misc]
        if not trusted(self.full_filename):  # type: ignore[attr-defined]
            (self.log or log).warning(  # type: ignore[attr-defined]
                "astrohub: %s is not read: nbgrader's configuration is taken only from Jupyter's config folders "
                "(%s). A course folder is shared by the class's instructors, and code there would run as whoever "
                "grades (see docs/teaching.md)", self.full_filename,  # type: ignore[attr-defined]
                ", ".join(jupyter_config_path()))
            raise ConfigFileNotFound(f"{self.full_filename} is not in a Jupyter config folder")  # type: ignore


class TrustedPyFileConfigLoader(_TrustedOnly, PyFileConfigLoader):
    """``nbgrader_config.py`` only from Jupyter's config folders."""


class TrustedJSONFileConfigLoader(_TrustedOnly, JSONFileConfigLoader):
    """``nbgrader_config.json`` only from Jupyter's config folders."""


def trusted_config_only() -> None:
    """Make every nbgrader app of this process read configuration files only from Jupyter's config folders."""
    from nbgrader.apps.baseapp import NbGrader

    NbGrader.python_config_loader_class = TrustedPyFileConfigLoader
    NbGrader.json_config_loader_class = TrustedJSONFileConfigLoader


def offline_pages(nbgrader_templates: list[str]) -> list[str]:
    """``HTMLExporter.extra_template_basedirs`` for a page of nbgrader's: :data:`TEMPLATES` first, then
    ``nbgrader_templates`` (what nbgrader itself sets, and sets only when nothing is configured)."""
    return [TEMPLATES, *(t for t in nbgrader_templates if t != TEMPLATES)]


def main() -> None:
    """nbgrader's command line (``sys.argv[1:]``) with :func:`trusted_config_only`; ``generate_feedback``
    writes pages that load nothing from the internet (:data:`TEMPLATES`)."""
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    trusted_config_only()
    sys.argv[0] = "nbgrader"
    if sys.argv[1:2] == ["generate_feedback"]:
        import nbgrader

        feedback = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates")
        sys.argv += [f"--HTMLExporter.extra_template_basedirs={path}" for path in offline_pages([feedback])]
    nbgrader_main()


if __name__ == "__main__":
    main()
