"""nbgrader's formgrader, reading configuration only from Jupyter's config folders (a Jupyter server extension).

nbgrader's ``formgrader`` extension runs the ``nbgrader_config.py`` of the course it serves when the server
starts, in the server's process: a class's course folder is writable by each of its instructors, so a file one
of them put there would run as every other instructor whose Lab starts. This extension loads nbgrader's own
formgrader (its pages, API and steps unchanged) after :func:`astrohub_server.gradingconfig.trusted_config_only`,
so formgrader, and the nbgrader steps its pages start in this server, read only the configuration files of
Jupyter's config folders (the instructor's own ``~/.jupyter`` and the platform's).

Its *Autograde* button is refused, in nbgrader's own answer form (``success`` false, the ``error`` shown in
formgrader's dialog), naming where to autograde instead: autograding executes the students' notebooks, and here it
would run them in the instructor's server, as the instructor (their home, their other classes); the classes
service autogrades as the class's grading identity (:mod:`astrohub_hub.grading`). Formgrader's other steps
(release, feedback) execute no notebook.

Loaded instead of ``nbgrader.server_extensions.formgrader`` for a class's instructors (``astrohub_hub.local``:
``AstroLocalSpawner.grading_course``). May import the standard library, jupyter_server, tornado and nbgrader.
"""

from __future__ import annotations

import json
from typing import Any

__all__: list[str] = []

#: formgrader's answer to its *Autograde* button (``{assignment}``, ``{student}``).
AUTOGRADE_ELSEWHERE = (
    "autograding runs {student}'s code, which this platform runs as the class's grading identity, never in your "
    "server as you: autograde {assignment} from the class page (Collect and autograde), with `astrohub classes "
    "collect <class> {assignment} --grade`, or POST classes/<class>/assignments/{assignment}/collect?grade=1 to the "
    "classes service")


def _without_autograde(routes: list[tuple]) -> list[tuple]:
    """nbgrader's formgrader API ``routes`` with its autograde route answered by a refusal
    (:data:`AUTOGRADE_ELSEWHERE`), everything else unchanged."""
    from nbgrader.server_extensions.formgrader.apihandlers import AutogradeHandler
    from nbgrader.server_extensions.formgrader.base import BaseApiHandler
    from tornado import web

    class AutogradeElsewhere(BaseApiHandler):
        @web.authenticated
        def post(self, assignment_id: str, student_id: str) -> None:
            error = AUTOGRADE_ELSEWHERE.format(assignment=assignment_id, student=student_id)
            self.write(json.dumps({"success": False, "error": error, "log": ""}))

    return [(route[0], AutogradeElsewhere, *route[2:]) if route[1] is AutogradeHandler else route
            for route in routes]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "astrohub_server.formgrader"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from nbgrader.server_extensions.formgrader import apihandlers
    from nbgrader.server_extensions.formgrader.formgrader import load_jupyter_server_extension

    from astrohub_server.gradingconfig import trusted_config_only

    trusted_config_only()
    apihandlers.default_handlers[:] = _without_autograde(apihandlers.default_handlers)  # what init_handlers adds
    load_jupyter_server_extension(serverapp)
    serverapp.log.info("astrohub: formgrader reads nbgrader configuration only from Jupyter's config folders")
