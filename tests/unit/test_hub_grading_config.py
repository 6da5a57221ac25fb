"""nbgrader takes configuration only from Jupyter's config folders, never from the class's shared course folder
(astrohub_server.gradingconfig, used by astrohub_hub.grading's steps and by astrohub_server.formgrader).

Every instructor of a class can write its course folder (``instructors/nbgrader``). nbgrader runs the
``nbgrader_config.py`` it finds there (and in its working folder, which it also puts on ``sys.path``), so one
instructor's file ran as the next instructor who graded or whose Lab (formgrader) started. Here one "instructor"
plants a config file, a JSON config and a module shadowing ``nbformat`` in the course folder, each of which would
leave a marker file; nbgrader's real steps (generate_assignment as the classes service runs it, and formgrader as
an instructor's server loads it) run without them, and still read the instructor's own ``~/.jupyter``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import SimpleNamespace

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from astrohub_hub.grading import Grader
from astrohub_hub.local import AstroLocalSpawner


def _plant(course, marker):
    """What a co-instructor may write in the course folder: code that leaves ``marker`` wherever it runs."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(f"open({str(marker)!r}, 'a').write('nbgrader_config.py ran\\n')\n")
    (course / "nbgrader_config.json").write_text('{"ClearSolutions": {"code_stub": {"python": "# planted stub"}}}')
    (course / "nbformat.py").write_text(f"open({str(marker)!r}, 'a').write('nbformat.py ran\\n')\n")


def test_grading_runs_no_configuration_or_module_another_instructor_put_in_the_course_folder(tmp_path, monkeypatch):
    instructors = tmp_path / "instructors"
    course, source, marker = instructors / "nbgrader", instructors / "hw1", tmp_path / "ran.txt"
    _plant(course, marker)
    source.mkdir()
    nb = new_notebook(cells=[new_code_cell(
        "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
        metadata={"nbgrader": {"schema_version": 3, "grade_id": "answer", "grade": False, "solution": True,
                               "locked": False}})])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, source / "square.ipynb")
    # the acting instructor's own configuration (their ~/.jupyter, which only they can write) is still nbgrader's
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "nbgrader_config.py").write_text(
        "c.ClearSolutions.code_stub = {'python': 'raise ValueError(\"square it\")'}\n")
    monkeypatch.setenv("HOME", str(home))
    released = Grader(course, None, instructors).release_version("hw1", source, None)
    assert not marker.exists(), marker.read_text()
    students = (released / "square.ipynb").read_text()
    assert "return x * x" not in students and "square it" in students  # the stub of the instructor's own config
    assert "planted stub" not in students
    assert subprocess.run([sys.executable, "-I", "-c", "from nbgrader.apps.baseapp import NbGrader; "
                           "print(NbGrader.python_config_loader_class.__name__)"], capture_output=True, text=True,
                          check=True).stdout.strip() == "PyFileConfigLoader"  # only the steps' processes change


def test_formgrader_in_an_instructors_server_runs_no_configuration_from_the_course_folder(tmp_path):
    """The formgrader extension the spawner loads for a class's instructor, loaded as Jupyter Server loads it (in a
    process of its own), on a course folder holding a co-instructor's ``nbgrader_config.py``."""
    (tmp_path / "a101" / "instructors").mkdir(parents=True)
    spawner = AstroLocalSpawner(run_as_system_users=False, home_template="/h/{username}", classes_root=str(tmp_path))
    spawner.user = SimpleNamespace(name="tina", groups=[SimpleNamespace(name="a101-instructors")])
    spawner.user_options = {}
    [extension] = [arg.split("=")[1] for arg in spawner.get_args()
                   if arg.startswith("--ServerApp.jpserver_extensions=") and arg.endswith("=True") and "formgrader" in arg]
    course, marker = tmp_path / "a101" / "instructors" / "nbgrader", tmp_path / "ran.txt"
    _plant(course, marker)
    loaded = subprocess.run([sys.executable, "-I", "-c", textwrap.dedent("""
        import importlib, sys
        from jupyter_server.serverapp import ServerApp
        from tornado.web import Application
        from traitlets.config import Config

        config = Config()
        config.CourseDirectory.root = sys.argv[2]
        app = ServerApp(config=config)
        app.web_app, app.root_dir = Application(base_url="/"), sys.argv[3]
        importlib.import_module(sys.argv[1])._load_jupyter_server_extension(app)
        print(app.web_app.settings["nbgrader_formgrader"].coursedir.root)
    """), extension, str(course), str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert not marker.exists(), marker.read_text()
    assert loaded.stdout.strip() == str(course)  # formgrader serves the course all the same
    assert f"{course / 'nbgrader_config.py'} is not read" in loaded.stderr, loaded.stderr  # said in the server's log
