"""nbgrader's instructor tools in JupyterLab only for a class's instructors (headless Chromium, real sign-in).

A student's Lab has no Nbgrader menu (its Formgrader entry opened a 404 tab) and no Create Assignment side
panel; the instructor's has both, the menu without the assignment and course lists (the platform's classes
service fetches and submits; nbgrader's exchange is not used). The instructor's Formgrader tab loads, saying
that the class page releases and collects (not nbgrader's warning that its exchange is not set up), and a
write to formgrader's API from that page goes through the browser's cookies with Jupyter's XSRF check, as a
grade set by hand does (``astrohub_hub.local``: ``lab_config_path``, ``grading_course``).

A student, by clicking: the class page (``astrohub_hub.classes_service``) links to her assignment's folder in her
Lab, submits it with a button and links to her returned feedback. Her Lab is the student's side of the first
paragraph too (no instructor tools, Validate on): each Lab start costs a server start and a page load (~10-20 s
of the browser tier under load), so the instructor's Lab and hers are the only two this module opens.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import time
from urllib.parse import urlsplit

from nbformat.v4 import new_code_cell, new_notebook

CREATE_ASSIGNMENT_TAB = ".jp-SideBar li.lm-TabBar-tab[data-id='nbgrader-create_assignemnt']"

# In the formgrader page (same origin as Lab): PUT a student record as formgrader's own pages do, the XSRF
# token from the _xsrf cookie in X-XSRFToken; and once without it, which the server must refuse.
FORMGRADER_PUT = """async ([url, xsrf]) => {
    const cookie = document.cookie.split("; ").find(c => c.startsWith("_xsrf="));
    const headers = {"Content-Type": "application/json"};
    if (xsrf && cookie) headers["X-XSRFToken"] = decodeURIComponent(cookie.slice(6));
    const response = await fetch(url, {method: "PUT", headers, credentials: "same-origin",
                                       body: JSON.stringify({first_name: "Ada", last_name: "L", email: null})});
    return [response.status, await response.text()];
}"""


def _generated_notebook() -> dict:
    """A notebook as nbgrader's generate_assignment leaves it (``cell_type`` in each marked cell's nbgrader
    metadata) and Lab saved it (the kernel's ``language_info``): opening it in Lab changes nothing."""
    from ipykernel.ipkernel import IPythonKernel

    cell = new_code_cell("assert 1 + 1 == 2")
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": "test", "locked": True, "solution": False,
                                 "grade": True, "task": False, "points": 1, "cell_type": "code"}
    return new_notebook(cells=[cell], metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": IPythonKernel.language_info})


def _menu_labels(page) -> list[str]:
    return [label.strip() for label in page.locator(".lm-MenuBar-itemLabel").all_inner_texts()]


def _lab_built(page) -> None:
    """Wait until Lab's shell, main menu and right side bar are built (so a menu or tab missing is missing)."""
    page.wait_for_selector(".jp-LabShell", timeout=120_000)
    page.get_by_role("menuitem", name="File").first.wait_for(timeout=60_000)  # the main menu is built
    page.wait_for_selector(".jp-SideBar.jp-mod-right li.lm-TabBar-tab", timeout=60_000)  # right side bar


def test_only_a_class_instructor_sees_nbgrader_instructor_tools_and_grades_through_the_browser(
        platform, browser, sign_in, in_front):
    """The instructor's side; a student's Lab without the tools is the next test's (one Lab start fewer)."""
    prof, student = platform.unique("nprof"), platform.unique("nstu")
    name = platform.create_class(platform.unique("nbtools"), [prof], [student])
    # the course folder formgrader serves (made by the first nbgrader release; here by hand, as the instructor)
    course = platform.data_dir / "classes" / name / "instructors" / "nbgrader"
    course.mkdir()
    if platform.system_user(prof):
        shutil.chown(course, platform.system_user(prof))
    os.chmod(course, 0o770)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        sign_in(page, prof)
        _lab_built(page)
        assert "Nbgrader" in _menu_labels(page)
        assert page.locator(CREATE_ASSIGNMENT_TAB).count() == 1
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        items = [t.strip() for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t.strip()]
        assert "Formgrader" in items and "Assignment List" not in items and "Course List" not in items

        def formgrader_page(response) -> bool:  # the page the tab's frame ends on (after formgrader's redirect)
            return (response.request.resource_type == "document" and f"/user/{prof}/formgrader" in response.url
                    and not 300 <= response.status < 400)

        with page.expect_response(formgrader_page, timeout=60_000) as opened:
            page.locator(".lm-Menu-itemLabel", has_text="Formgrader").first.click()
        assert opened.value.status == 200, opened.value.url
        grader = opened.value.frame  # the Formgrader tab's frame
        grader.wait_for_load_state()
        # shown in the tab, not blocked (JupyterHub's default frame-ancestors 'none' gave chrome-error://)
        assert f"/user/{prof}/formgrader" in grader.url, grader.url
        grader.get_by_text("Manage Assignments").first.wait_for(timeout=30_000)
        # where to release and collect (the class page), not nbgrader's yellow warning that the exchange is not set
        # up and "release" and "collect" are not available, which linked nbgrader's docs on the internet
        grader.locator("#astrohub-class-page").wait_for(timeout=30_000)
        assert grader.locator("#warning-course-id, #warning-exchange, #warning-windows").count() == 0
        assert grader.locator("#astrohub-class-page a").get_attribute("href") == "/services/astrohub-classes/"
        url = f"/user/{prof}/formgrader/api/student/ada"
        refused, _ = grader.evaluate(FORMGRADER_PUT, [url, False])
        status, body = grader.evaluate(FORMGRADER_PUT, [url, True])
        assert refused == 403, refused
        assert status == 200, body
        assert '"first_name": "Ada"' in body or '"first_name":"Ada"' in body
        # teach21: a notebook nbgrader generated (each marked cell's type in its nbgrader metadata, as in a released
        # copy or a collected submission; the kernel's language_info, as Lab saves it) opened with the Create
        # Assignment panel showing was marked modified at once: the panel wrote the metadata back without the type
        generated = _generated_notebook()
        path = platform.data_dir / "home" / prof / "generated.ipynb"
        path.write_text(json.dumps(generated))
        if platform.system_user(prof):
            shutil.chown(path, platform.system_user(prof))
        page.goto(f"{platform.url}user/{prof}/lab/tree/generated.ipynb", timeout=60_000)
        in_front(page, "generated.ipynb")
        page.locator(CREATE_ASSIGNMENT_TAB).click()
        page.locator(".nbgrader-CellWidget >> visible=true").first.wait_for(timeout=60_000)  # the panel drew them
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
        deadline = time.monotonic() + 5  # watched for a while: a write marks the tab at once
        while time.monotonic() < deadline and "jp-mod-dirty" not in (tab.get_attribute("class") or ""):
            page.wait_for_timeout(250)
        assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), "opening it marked it modified"
    finally:
        page.close()
        platform.stop_server(prof)


def test_a_student_finds_her_assignment_works_it_in_lab_and_submits_it_from_the_class_page(
        platform, browser, sign_in, in_front):
    """A student's term by clicking: the class page (the hub's Services menu) before any release, then her
    assignment's folder (a link into her Lab), where she edits and saves the notebook; the page's Submit button
    (on time, then again after the due date: late), her returned feedback (not her classmate's), and a clear
    refusal once the class is closed, all on the page: no JSON, no 500, no traceback."""
    prof, ann, bob = platform.unique("tprof"), platform.unique("tann"), platform.unique("tbob")
    name = platform.create_class(platform.unique("term"), [prof], [ann, bob])
    root = platform.data_dir / "classes" / name
    classes = f"{platform.url}services/astrohub-classes/"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        sign_in(page, ann)
        page.goto(classes, timeout=60_000)
        assert "No assignment yet." in page.inner_text("body")
        hw = root / "instructors" / "hw"
        hw.mkdir()
        kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
        notebook = new_notebook(cells=[new_code_cell("parallax = 0.1")], metadata=kernel)  # no kernel dialog
        (hw / "answer.ipynb").write_text(json.dumps(notebook))
        released = platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw/release")
        assert released.status_code == 200, released.text

        page.reload()
        page.locator("a.folder", has_text=f"~/{name}/hw/").click()  # into her Lab, the folder open
        page.wait_for_url(f"**/user/{ann}/lab/tree/{name}/hw**", timeout=60_000)
        page.locator(".jp-DirListing-item", has_text="answer.ipynb").dblclick(timeout=60_000)
        notebook = in_front(page, "answer.ipynb")
        # A class's student: no nbgrader instructor tools in her Lab (its Formgrader entry opened a 404 tab), and
        # nbgrader's Validate on (she checks her work before she submits)
        _lab_built(page)
        assert "Nbgrader" not in _menu_labels(page)
        assert page.locator(CREATE_ASSIGNMENT_TAB).count() == 0
        disabled = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
                                 ".disabledExtensions")
        assert "@jupyter/nbgrader:validate-assignment" not in disabled
        page.locator(f"{notebook} .jp-Cell .cm-content").first.click()
        page.keyboard.press("End")
        page.keyboard.type("  # her own answer")
        page.keyboard.press("Control+s")
        work = platform.data_dir / "home" / ann / name / "hw" / "answer.ipynb"
        deadline = time.monotonic() + 30
        while "her own answer" not in work.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "her own answer" in work.read_text()
        # nbgrader's Validate (a class's student's server loads it): runs her notebook and says it passes. The
        # wait is for the server's answer (a child process starts a kernel and runs her notebook: a minute or more
        # on a loaded machine), then for the dialog that shows it; a fixed 60 s for the dialog raced the kernel.
        with page.expect_response(lambda r: urlsplit(r.url).path.endswith("/assignments/validate"),
                                  timeout=300_000) as validated:
            page.locator(f"{notebook} .validate-button").click()
        assert validated.value.ok, validated.value.text()
        result = page.locator(".jp-Dialog .validation-success, .jp-Dialog .validation-failed").first
        result.wait_for(timeout=30_000)
        assert "Success! Your notebook passes all the tests." in result.inner_text(), result.inner_text()
        page.locator(".jp-Dialog button").last.click()

        page.goto(classes, timeout=60_000)
        page.get_by_role("button", name="Submit hw").click()
        said = page.locator("p.message").inner_text(timeout=30_000)
        assert said.startswith(f"Submitted hw of {name} at ") and "1 file(s)" in said, said
        (first,) = (root / "submissions" / ann / "hw").iterdir()
        assert "her own answer" in (first / "answer.ipynb").read_text()
        # She is in a second class too: both on her page, each with its own work, kept apart.
        other = platform.create_class(platform.unique("term2"), [prof], [ann])
        (platform.data_dir / "classes" / other / "instructors" / "lab1").mkdir()
        (platform.data_dir / "classes" / other / "instructors" / "lab1" / "plot.py").write_text("# plot")
        assert platform.classes_api(prof, "POST", f"classes/{other}/assignments/lab1/release").status_code == 200
        page.goto(classes, timeout=60_000)
        assert page.locator("h2.class").all_inner_texts() == [f"{name} (student)", f"{other} (student)"]
        page.get_by_role("button", name="Submit lab1").click()
        assert f"Submitted lab1 of {other} at " in page.locator("p.message").inner_text(timeout=30_000)
        assert [p.name for p in (platform.data_dir / "classes" / other / "submissions" / ann).iterdir()] == ["lab1"]
        assert [p.name for p in (root / "submissions" / ann).iterdir()] == ["hw"]
        # A due date two seconds ahead, then her second submission after it: taken, and marked late.
        due = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
        moved = platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw/due", {"due": due.isoformat()})
        assert moved.status_code == 200, moved.text
        time.sleep(max(0.0, (due - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 0.5)
        page.goto(classes, timeout=60_000)
        assert "late work taken, marked late" in page.locator("ul.assignments").first.inner_text()
        page.get_by_role("button", name="Submit hw").click()
        said = page.locator("p.message").inner_text(timeout=30_000)
        assert "late by" in said and "taken, and marked late" in said, said
        assert len(list((root / "submissions" / ann / "hw").iterdir())) == 2
        assert "(late by" in page.inner_text("body")  # her submissions, the latest marked late

        # Feedback returned to her only: the page links to it; her classmate's page does not.
        notes = root / "instructors" / "feedback" / "hw" / ann
        notes.mkdir(parents=True)
        (notes / "answer.html").write_text("<p>9/10</p>")
        assert platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw/feedback").status_code == 200
        page.goto(classes, timeout=60_000)
        assert page.locator("a.feedback").count() == 1
        bob_page = platform.login(bob).get(classes, timeout=60).text
        assert "Submit hw" in bob_page and "your feedback" not in bob_page and ann not in bob_page

        # A form posted without the hub's _xsrf token (another site's form) is not taken as her.
        forged = platform.login(ann).post(f"{classes}submit", data={"class": name, "assignment": "hw"}, timeout=60)
        assert forged.status_code == 403 and len(list((root / "submissions" / ann / "hw").iterdir())) == 2
        # An assignment that was never released (the form changed by hand): said on the page, a 404.
        with page.expect_response(lambda r: r.url.endswith("/submit")) as answer:
            page.evaluate("""(a) => { const form = document.querySelector("form[action$='/submit']");
                                      form.elements.assignment.value = a; form.submit(); }""", "hw9")
        assert answer.value.status == 404, answer.value.status
        said = page.locator("p.error").inner_text(timeout=30_000)
        assert said == f"Not submitted: assignment 'hw9' of class '{name}' was not released", said
        # The class closed (an admin archives it) while her page is open: the button answers why, on the page,
        # which then has no Submit button any more.
        page.goto(classes, timeout=60_000)
        archived = platform.astrohub("classes", "archive", name)
        assert archived.returncode == 0, archived.stdout + archived.stderr
        with page.expect_response(lambda r: r.url.endswith("/submit")) as answer:
            page.get_by_role("button", name="Submit hw").click()
        assert answer.value.status == 409, answer.value.status
        said = page.locator("p.error").inner_text(timeout=30_000)
        assert said == f"Not submitted: class {name!r} is archived: nothing can change", said
        assert "Traceback" not in page.content() and page.get_by_role("button", name="Submit hw").count() == 0
        assert "class closed: no more submissions" in page.locator("ul.assignments").first.inner_text()
        # the class's heading says it is closed (an instructor's page showed an archived class as any other)
        assert page.locator("h2.class").all_inner_texts() == [f"{name} (student, archived: read-only)",
                                                              f"{other} (student)"]
        assert page.get_by_role("button", name="Submit lab1").count() == 1  # her other class is open
    finally:
        page.close()
        platform.stop_server(ann)
