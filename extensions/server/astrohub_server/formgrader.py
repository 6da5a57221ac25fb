"""nbgrader's formgrader, reading configuration only from Jupyter's config folders (a Jupyter server extension).

nbgrader's ``formgrader`` extension runs the ``nbgrader_config.py`` of the course it serves when the server
starts, in the server's process: a class's course folder is writable by each of its instructors, so a file one
of them put there would run as every other instructor whose Lab starts. This extension loads nbgrader's own
formgrader (its pages, API and steps unchanged) after :func:`astrohub_server.gradingconfig.trusted_config_only`,
so formgrader, and the nbgrader steps its pages start in this server, read only the configuration files of
Jupyter's config folders (the instructor's own ``~/.jupyter`` and the platform's).

Its *Manage Assignments* page says that assignments are released, collected and returned on the class page (with a
link), in place of nbgrader's warning that the exchange is not set up, which pointed at nbgrader's docs on the
internet (:data:`EXCHANGE_ELSEWHERE`). What it says of the class is the class page's (:mod:`astrohub_server.classservice`, asked
with the server's own token): an assignment released there is listed *released* (nbgrader's exchange, not used here,
left every assignment a *draft*), with the due date students were given (nbgrader's gradebook learns it only at
autograding); its *Release Feedback* button returns the assignment's feedback to the class's students as the class
page's *Return feedback* does (it released nothing before: nbgrader's exchange); and *Manage Students* lists every
student on the class's roster (nbgrader listed only those its gradebook had a record of: the autograded), naming each
student by their hub name where nbgrader's gradebook has no first and last name (the platform knows none; it showed
"None, None"). Its *Autograde* button is refused, in nbgrader's own answer form (``success`` false, the ``error`` shown in
formgrader's dialog), naming where to autograde instead: autograding executes the students' notebooks, and here it
would run them in the instructor's server, as the instructor (their home, their other classes); the classes
service autogrades as the class's grading identity (:mod:`astrohub_hub.grading`). Formgrader's other steps
(release, feedback) execute no notebook.

While the course folder is not there (``~/grading/<class>``, which the classes service removes as the class is
deleted or makes again as it is restored), each of formgrader's pages and API routes answers 404 saying so
(:data:`COURSE_GONE`; the API in nbgrader's answer form, ``{"success": false, "error"}``), not the deleted course's assignments or an error of nbgrader's, and serves the course again as
soon as the folder is back, with no restart (:func:`_course_checked`). A course whose class was renamed
(``astrohub classes restore <kept> --as <new>``: its folder, the same folder, now reached by ``~/grading/<new>``)
is followed to its new link at the next request (:func:`_follow_course`), so a formgrader left running serves the
class under its new name, not a 404 naming the old one until the server's next start. The gradebook nbgrader keeps open between
requests is closed after each one: a deleted class's revocation ends the processes that hold its files open
(``astrohub_hub.folders.revoke``), which was the instructor's whole server.

Loaded instead of ``nbgrader.server_extensions.formgrader`` for a class's instructors (``astrohub_hub.local``:
``AstroLocalSpawner.grading_course``). Its grading pages are drawn with the platform's nbconvert templates first
(:data:`astrohub_server.gradingconfig.TEMPLATES`: nbgrader's loaded MathJax from the internet). May import the
standard library, jupyter_server, tornado, nbgrader and nbconvert (which nbgrader runs), and ``classservice``.
"""

from __future__ import annotations

import copy
import html
import inspect
import json
import os
import stat
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


#: What formgrader's *Manage Assignments* page says in place of nbgrader's warning that the exchange (its course id)
#: is not set up and "release" and "collect" are not available, with a link to nbgrader's docs on the internet: here
#: the classes service releases, collects and returns feedback, from the class page (``{classes}``).
EXCHANGE_ELSEWHERE = (
    '{% extends "manage_assignments.tpl" %}{%- block messages -%}{{ super() }}'
    '<div class="alert alert-info" id="astrohub-class-page">On this platform you release assignments to your '
    'students, collect and autograde their work and return their feedback on the <a href="{{ astrohub_classes }}" '
    'target="_blank">class page</a> (the hub\'s Services menu, astrohub-classes): the Release and Collect columns '
    'below are not used, and the Status column says what the class page released. Here you edit and preview '
    'assignments and grade by hand (Manual Grading); then return feedback with Release Feedback below or Return '
    'feedback on the class page (the same step: every student of the class gets their pages).</div>'
    '{%- endblock -%}')


def _exchange_explained(routes: list[tuple], classes_url: str) -> list[tuple]:
    """nbgrader's formgrader page ``routes`` with *Manage Assignments* saying where to release and collect
    (:data:`EXCHANGE_ELSEWHERE`, linking ``classes_url``) instead of nbgrader's exchange warnings."""
    from nbgrader.server_extensions.formgrader.handlers import ManageAssignmentsHandler

    class ManageAssignmentsHere(ManageAssignmentsHandler):
        def render(self, name: str, **ns: Any) -> str:
            if name != "manage_assignments.tpl":
                return super().render(name, **ns)
            env = self.settings["nbgrader_jinja2_env"]
            return env.from_string(EXCHANGE_ELSEWHERE).render(**{  # none of nbgrader's three warnings
                **ns, "windows": False, "exchange_missing": False, "course_id": ns.get("course_id") or "-",
                "astrohub_classes": classes_url})

    return [(route[0], ManageAssignmentsHere, *route[2:]) if route[1] is ManageAssignmentsHandler else route
            for route in routes]


def _class_of(coursedir: Any) -> str:
    """The class a formgrader serves: the name of its course's link, ``~/grading/<class>`` (followed when the class
    is renamed: :func:`_follow_course`)."""
    return os.path.basename(os.path.normpath(coursedir.root))


def _class_api(service: Any) -> type:
    """nbgrader's ``NbGraderAPI`` whose assignments say what the class page did (``service``: a
    :class:`astrohub_server.classservice.ClassService`, None: none to ask): *released* with its due date when the
    class released it, *draft* when not (nbgrader said *draft* of everything: its exchange is not used); the status
    left empty, and logged, while the service cannot say."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.utils import as_timezone, parse_utc

    from astrohub_server.classservice import ClassServiceError

    class ClassAPI(NbGraderAPI):
        _class: dict | None = None

        def class_info(self) -> dict | None:
            """The class as the service shows it to its instructor (asked once per request); None: not known."""
            if self._class is None and service is not None:
                try:
                    self._class = service.show(_class_of(self.coursedir))
                except ClassServiceError as exc:
                    self.log.warning("astrohub: formgrader cannot ask the classes service about its class: %s",
                                     exc.message)
            return self._class

        def class_released(self) -> dict | None:
            """``{assignment: deadline}`` the class released; None: not known."""
            info = self.class_info()
            return None if info is None else service.released_in(info)

        def roster(self) -> list[str]:
            """The class's students, as the service says (``[]`` while it cannot say)."""
            return list((self.class_info() or {}).get("students", []))

        @staticmethod
        def _ungraded(name: str, most: float) -> dict:
            return {"id": name, "last_name": None, "first_name": None, "email": None, "lms_user_id": None,
                    "score": 0.0, "max_score": most}

        def get_students(self) -> list[dict]:
            """nbgrader's students (those its gradebook has a record of, or a submission from) and every other
            student on the class's roster, with no score yet, sorted as nbgrader sorts them."""
            students = super().get_students()
            known = {s["id"] for s in students}
            most = students[0]["max_score"] if students else 0.0  # the class's assignments' total, for everyone
            students += [self._ungraded(name, most) for name in self.roster() if name not in known]
            students.sort(key=lambda x: (x["last_name"] or "None", x["first_name"] or "None", x["id"]))
            return students

        def get_student(self, student_id: str, submitted: Any = None) -> dict | None:
            """nbgrader's record of a student, or, for a student on the roster it has none of, one with no score
            (their page lists the assignments they have not submitted, not nbgrader's 404)."""
            found = super().get_student(student_id, submitted)
            if found is None and student_id in self.roster():
                found = self._ungraded(student_id, 0.0)
            return found

        def get_assignment(self, assignment_id: str, released: Any = None) -> dict | None:
            found = super().get_assignment(assignment_id, released)
            told = self.class_released()
            if found is None:
                return found
            if told is None:
                found["status"] = None  # neither draft nor released: formgrader shows nothing
                return found
            found["status"] = "released" if assignment_id in told else "draft"
            due = (told.get(assignment_id) or {}).get("due")
            if due:  # the due date students were given, as nbgrader shows one
                when = as_timezone(parse_utc(due), self.timezone)
                found.update(duedate=parse_utc(due).isoformat(), display_duedate=when.strftime(self.timestamp_format),
                             duedate_notimezone=when.replace(tzinfo=None).isoformat())
            return found

    return ClassAPI


#: formgrader's answer to its per-student *Release Feedback* button (``{assignment}``, ``{student}``).
FEEDBACK_TO_ALL = (
    "feedback on {assignment} goes back to every student of the class at once, not to {student} alone: press "
    "Release Feedback of {assignment} on Manage Assignments, or Return feedback on the class page")


def _told_by_the_class(routes: list[tuple], service: Any) -> list[tuple]:
    """nbgrader's formgrader API ``routes`` answering from the class (:func:`_class_api`): its assignments'
    status and due dates, and *Release Feedback* returning the feedback through ``service`` (refused, saying
    where instead, for one student, or where there is no service to ask)."""
    import asyncio

    from nbgrader.server_extensions.formgrader.apihandlers import ReleaseAllFeedbackHandler, ReleaseFeedbackHandler
    from nbgrader.server_extensions.formgrader.base import BaseApiHandler, BaseHandler, check_xsrf
    from tornado import web

    from astrohub_server.classservice import ClassServiceError

    api_class = _class_api(service)

    class ClassTold:
        @property
        def api(self) -> Any:  # nbgrader's BaseHandler.api, of the class's API
            self.coursedir.parent.load_config_file()
            api = api_class(self.coursedir, self.authenticator, parent=self.coursedir.parent)
            api.log_level = self.log.level
            return api

    class ReturnFeedback(BaseApiHandler):
        @web.authenticated
        @check_xsrf
        async def post(self, assignment_id: str) -> None:
            cls = _class_of(self.coursedir)
            if service is None:
                answer = {"success": False, "log": "", "error": "this server has no classes service to ask: return "
                          f"feedback on {assignment_id} from the class page (Return feedback)"}
            else:
                try:
                    done = await asyncio.get_running_loop().run_in_executor(
                        None, service.return_feedback, cls, assignment_id)
                except ClassServiceError as exc:
                    answer = {"success": False, "log": "", "error": exc.message}
                else:
                    returned = sorted(done.get("returned") or {})
                    answer = {"success": True, "error": "", "log": (
                        f"feedback on {assignment_id} returned to {len(returned)} students of {cls}: "
                        f"{', '.join(returned) or 'none (no student has feedback pages yet: autograde first)'}")}
            self.write(json.dumps(answer))

    class FeedbackToAll(BaseApiHandler):
        @web.authenticated
        @check_xsrf
        def post(self, assignment_id: str, student_id: str) -> None:
            error = FEEDBACK_TO_ALL.format(assignment=assignment_id, student=student_id)
            self.write(json.dumps({"success": False, "error": error, "log": ""}))

    out = []
    for route in routes:
        handler = route[1]
        if handler is ReleaseAllFeedbackHandler:
            handler = ReturnFeedback
        elif handler is ReleaseFeedbackHandler:
            handler = FeedbackToAll
        elif isinstance(handler, type) and issubclass(handler, BaseHandler):
            handler = type(handler.__name__, (ClassTold, handler), {})
        out.append((route[0], handler, *route[2:]))
    return out


#: What formgrader's *Manage Students* page adds after nbgrader's script: a student whose gradebook record has no
#: first and last name (the platform knows none) is named by their hub name, not "None, None".
HUB_NAMES = (
    '{% extends "manage_students.tpl" %}{%- block head -%}{{ super() }}<script id="astrohub-hub-names">'
    '(function () {var render = StudentUI.prototype.render; StudentUI.prototype.render = function () {'
    'render.apply(this, arguments); var m = this.model;'
    'if (m.get("first_name") === null && m.get("last_name") === null) {'
    'this.$name.attr("data-order", m.get("id")); this.$name.find("a").text(m.get("id"));}};})();'
    '</script>{%- endblock -%}')


def _hub_names(routes: list[tuple]) -> list[tuple]:
    """nbgrader's formgrader page ``routes`` with *Manage Students* naming students by their hub names
    (:data:`HUB_NAMES`)."""
    from nbgrader.server_extensions.formgrader.handlers import ManageStudentsHandler

    class ManageStudentsHere(ManageStudentsHandler):
        def render(self, name: str, **ns: Any) -> str:
            if name != "manage_students.tpl":
                return super().render(name, **ns)
            return self.settings["nbgrader_jinja2_env"].from_string(HUB_NAMES).render(**ns)

    return [(route[0], ManageStudentsHere, *route[2:]) if route[1] is ManageStudentsHandler else route
            for route in routes]


#: formgrader's answer while its course folder ``{root}`` is not there.
COURSE_GONE = (
    "formgrader: the course folder {root} is not there, or you may not read it: its class was deleted, or you no "
    "longer teach it (an admin brings a deleted class back with `astrohub classes restore`), or it has no nbgrader "
    "assignment yet. Formgrader serves the course again as soon as the folder is back")


def _close_gradebook(settings: dict) -> None:
    """Close the gradebook formgrader's handlers keep in ``settings`` (``BaseHandler.gradebook`` opens it again)."""
    gradebook = settings.get("nbgrader_gradebook")
    if gradebook is not None:
        settings["nbgrader_gradebook"] = None
        gradebook.close()


#: The key of the tornado settings holding the ``(st_dev, st_ino)`` of the course folder formgrader last served.
COURSE_SEEN = "astrohub_course_seen"


def _identity(path: str) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of the folder ``path`` leads to (links followed); None where there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _follow_course(settings: dict) -> bool:
    """Point formgrader at the course folder it served last, wherever its link in the grading folder is now;
    return whether a course folder is there to serve.

    The server starts with ``CourseDirectory.root = ~/grading/<class>``. When that class is renamed (restored under
    another name) the same folder is reached by ``~/grading/<new>``, and the old link is gone: the course is found
    again by its identity among the links beside the old one, and ``root`` (and the gradebook's URL, when it was
    nbgrader's default beside ``root``) move there. Where the course it served is nowhere and ``root`` is a course
    folder (made after the server started, or a new class of the same name), that one is served from now on."""
    coursedir = settings["nbgrader_formgrader"].coursedir
    root = coursedir.root
    seen, here = settings.get(COURSE_SEEN), _identity(root)
    if seen is not None and here != seen:
        try:
            links = sorted(entry.path for entry in os.scandir(os.path.dirname(root)))
        except OSError:
            links = []
        for link in links:
            if _identity(link) == seen:
                _close_gradebook(settings)
                if coursedir.db_url == _default_db_url(root):
                    coursedir.db_url = _default_db_url(link)
                coursedir.root = link
                settings["nbgrader_formgrader"].log.info("astrohub: formgrader's course %s is now %s (its class "
                                                         "was renamed)", root, link)
                return True
    if here is not None:
        settings[COURSE_SEEN] = here
    return here is not None


def _default_db_url(root: str) -> str:
    """nbgrader's default gradebook URL for the course folder ``root``: what ``CourseDirectory.db_url`` is when no
    configuration sets it, asked of nbgrader (a course directory with no configuration), not restated here."""
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(root=root).db_url


def _course_checked(routes: list[tuple]) -> list[tuple]:
    """nbgrader's formgrader ``routes`` with each of its handlers refusing, 404 :data:`COURSE_GONE`, a signed-in
    request while the course folder is not there (followed to its class's new name first: :func:`_follow_course`),
    and closing the gradebook after every request."""
    from nbgrader.server_extensions.formgrader.base import BaseApiHandler, BaseHandler

    class CoursePresent:
        async def prepare(self, *args: Any, **kwargs: Any) -> None:
            done = super().prepare(*args, **kwargs)
            if inspect.isawaitable(done):
                await done
            if self.current_user and not _follow_course(self.settings):
                root = self.settings["nbgrader_formgrader"].coursedir.root
                _close_gradebook(self.settings)
                message = COURSE_GONE.format(root=root)
                self.set_status(404)
                if isinstance(self, BaseApiHandler):  # nbgrader's API answer form, shown by formgrader's pages
                    self.set_header("Content-Type", "application/json")
                    self.finish(json.dumps({"success": False, "error": message}))
                else:
                    self.finish("<!doctype html><html><head><meta charset='utf-8'><title>Formgrader</title>"
                                f"</head><body><p class='course-gone'>{html.escape(message)}</p></body></html>")

        def on_finish(self) -> None:
            _close_gradebook(self.settings)
            super().on_finish()

    return [(route[0], type(route[1].__name__, (CoursePresent, route[1]), {}), *route[2:])
            if isinstance(route[1], type) and issubclass(route[1], BaseHandler) else route for route in routes]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "astrohub_server.formgrader"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import apihandlers, handlers
    from nbgrader.server_extensions.formgrader.formgrader import load_jupyter_server_extension

    from astrohub_server.classservice import ClassService
    from astrohub_server.gradingconfig import offline_pages, trusted_config_only

    trusted_config_only()
    service = ClassService.from_environ(os.environ)
    # what init_handlers adds
    apihandlers.default_handlers[:] = _course_checked(_told_by_the_class(
        _without_autograde(apihandlers.default_handlers), service))
    classes = os.environ.get("JUPYTERHUB_BASE_URL", "/").rstrip("/") + "/services/astrohub-classes/"
    handlers.default_handlers[:] = _course_checked(_told_by_the_class(
        _hub_names(_exchange_explained(handlers.default_handlers, classes)), service))
    load_jupyter_server_extension(serverapp)
    # its grading pages load nothing from the internet (MathJax): an exporter whose template paths (read as it is
    # made) begin with the platform's templates
    settings = serverapp.web_app.settings
    config = copy.deepcopy(settings["nbgrader_exporter"].config)
    config.HTMLExporter.extra_template_basedirs = offline_pages(settings["nbgrader_exporter"].extra_template_basedirs)
    settings["nbgrader_exporter"] = HTMLExporter(config=config)
    _follow_course(serverapp.web_app.settings)  # the course it serves, as it starts (followed if renamed later)
    serverapp.log.info("astrohub: formgrader reads nbgrader configuration only from Jupyter's config folders")
