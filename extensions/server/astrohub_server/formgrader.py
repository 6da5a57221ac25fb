"""nbgrader's formgrader, reading configuration only from Jupyter's config folders (a Jupyter server extension).

nbgrader's ``formgrader`` extension runs the ``nbgrader_config.py`` of the course it serves when the server
starts, in the server's process: a class's course folder is writable by each of its instructors, so a file one
of them put there would run as every other instructor whose Lab starts. This extension loads nbgrader's own
formgrader (its pages, API and steps unchanged) after :func:`astrohub_server.gradingconfig.trusted_config_only`,
so formgrader, and the nbgrader steps its pages start in this server, read only the configuration files of
Jupyter's config folders (the instructor's own ``~/.jupyter`` and the platform's).

Loaded instead of ``nbgrader.server_extensions.formgrader`` for a class's instructors (``astrohub_hub.local``:
``AstroLocalSpawner.grading_course``). May import the standard library, jupyter_server and nbgrader.
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "astrohub_server.formgrader"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from nbgrader.server_extensions.formgrader.formgrader import load_jupyter_server_extension

    from astrohub_server.gradingconfig import trusted_config_only

    trusted_config_only()
    load_jupyter_server_extension(serverapp)
    serverapp.log.info("astrohub: formgrader reads nbgrader configuration only from Jupyter's config folders")
