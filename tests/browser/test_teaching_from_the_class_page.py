"""An instructor's term by clicking on the class page (headless Chromium, real sign-in), no notebook, no terminal.

The class page (``astrohub_hub.classes_service``: ``PageInstructHandler``, ``PageGradesHandler``) had nothing
for an instructor to press: releasing, collecting and autograding, returning feedback and extensions were API
calls from a notebook, the gradebook's CSV a token-authenticated route a browser cannot open, and formgrader's
refusal of its own *Autograde* button sent the instructor to "the class page (Collect and autograde)", which did
not exist. Each step here is a button (and the materials a link into Lab, not the server's path), and its answer (or the service's refusal, naming the value) is on the page.
"""

from __future__ import annotations

import datetime
import json

from nbformat.v4 import new_code_cell, new_notebook


def _marked(source: str, grade_id: str, **nbgrader) -> object:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": grade_id, "locked": False, "solution": False,
                                 "grade": False, "task": False, **nbgrader}
    return cell


def test_an_instructor_releases_autogrades_returns_feedback_extends_and_exports_from_the_class_page(
        platform, browser):
    prof, ann = platform.unique("bprof"), platform.unique("bann")
    name = platform.create_class(platform.unique("buttons"), [prof], [ann])
    hw = platform.data_dir / "classes" / name / "instructors" / "hw"
    hw.mkdir()
    notebook = new_notebook(cells=[
        _marked("def distance_pc(parallax_mas):\n    ### BEGIN SOLUTION\n    return 1000 / parallax_mas\n"
                "    ### END SOLUTION", "answer", solution=True),
        _marked("assert abs(distance_pc(768.5) - 1.3012) < 1e-3", "test", grade=True, locked=True, points=2)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    (hw / "parallax.ipynb").write_text(json.dumps(notebook))
    page = browser.new_context(accept_downloads=True).new_page()

    def said() -> str:  # the last button's answer, on the page (autograding takes a minute or more)
        return page.locator("p[role=status]").inner_text(timeout=600_000)

    try:
        page.goto(f"{platform.url}hub/login", timeout=60_000)
        page.fill("input[name=username]", prof)
        page.fill("input[name=password]", platform.password(prof))
        page.click("[type=submit]")
        page.goto(f"{platform.url}services/astrohub-classes/", timeout=60_000)
        # the materials: a link into Lab (the page gave the server's path, /srv/..., which nobody can click)
        materials = page.get_by_role("link", name=f"~/classes/{name}/materials/")
        assert materials.get_attribute("href") == f"/hub/user-redirect/lab/tree/classes/{name}/materials"

        # A due date without its time zone is refused on the page, naming it; nothing is released
        page.fill("input[name=assignment]", "hw")
        page.fill("input[name=due]", "2030-01-10 17:00")
        page.get_by_role("button", name="Release", exact=True).click()
        assert said().startswith("Not done: due date '2030-01-10 17:00' "), said()
        assert "Traceback" not in page.content() and not (platform.data_dir / "home" / ann / name).exists()
        due = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%MZ")
        page.fill("input[name=assignment]", "hw")
        page.fill("input[name=due]", due)
        page.fill("input[name=late_penalty_per_hour]", "1")
        page.get_by_role("button", name="Release", exact=True).click()
        assert said() == f"Released hw to 1 student(s): due {due[:-1]}:00Z (late work taken, marked late, 1 point " \
                         "off per hour late).", said()
        assert (platform.data_dir / "home" / ann / name / "hw" / "parallax.ipynb").is_file()

        # her extension, by a duration after the due date
        row = page.locator("ul.instruct li[data-assignment=hw]")
        row.locator("select[name=student]").select_option(ann)
        row.locator("input[name=by]").fill("2d")
        row.get_by_role("button", name="Give an extension on hw").click()
        assert said().startswith(f"{ann} has until "), said()

        # she hands in her copy as released (no answer): collected and autograded by one button
        assert platform.classes_api(ann, "POST", f"classes/{name}/assignments/hw/submit").status_code == 200
        with page.expect_navigation(timeout=600_000):  # the answer's page, once every submission is graded
            page.get_by_role("button", name="Collect and autograde hw").click(no_wait_after=True)
        assert said() == f"Collected and autograded hw: 1 submission(s) ({ann} 0/2); handed nothing in: nobody.", said()
        page.get_by_role("button", name="Return feedback on hw").click()
        assert said() == f"Returned feedback on hw to {ann}.", said()
        assert (platform.data_dir / "home" / ann / name / "hw" / "feedback").is_dir()

        # the gradebook, downloaded by a link (the API's CSV route needs a token a browser does not send)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the gradebook (CSV)").click()
        assert download.value.suggested_filename == f"{name}-grades.csv"
        header, row = open(download.value.path(), encoding="utf-8").read().splitlines()
        assert header.startswith("student,assignment,submissions,") and row.startswith(f"{ann},hw,1,"), row
    finally:
        page.close()
        platform.stop_server(prof)  # signing in started it
