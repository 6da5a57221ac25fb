"""nbgrader's instructor tools in JupyterLab only for a class's instructors (headless Chromium, real sign-in).

A student's Lab has no Nbgrader menu (its Formgrader entry opened a 404 tab) and no Create Assignment side
panel; the instructor's has both, the menu without the assignment and course lists (the platform's classes
service fetches and submits; nbgrader's exchange is not used). The instructor's Formgrader tab loads, and a
write to formgrader's API from that page goes through the browser's cookies with Jupyter's XSRF check, as a
grade set by hand does (``astrohub_hub.local``: ``lab_config_path``, ``grading_course``).
"""

from __future__ import annotations

import os
import shutil

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


def _menu_labels(page) -> list[str]:
    return [label.strip() for label in page.locator(".lm-MenuBar-itemLabel").all_inner_texts()]


def _open_lab(page, sign_in, user: str) -> None:
    sign_in(page, user)
    page.wait_for_selector(".jp-LabShell", timeout=120_000)
    page.get_by_role("menuitem", name="File").first.wait_for(timeout=60_000)  # the main menu is built
    page.wait_for_selector(".jp-SideBar.jp-mod-right li.lm-TabBar-tab", timeout=60_000)  # right side bar


def test_only_a_class_instructor_sees_nbgrader_instructor_tools_and_grades_through_the_browser(
        platform, browser, sign_in):
    prof, student = platform.unique("nprof"), platform.unique("nstu")
    name = platform.create_class(platform.unique("nbtools"), [prof], [student])
    # the course folder formgrader serves (made by the first nbgrader release; here by hand, as the instructor)
    course = platform.data_dir / "classes" / name / "instructors" / "nbgrader"
    course.mkdir()
    if platform.system_user(prof):
        shutil.chown(course, platform.system_user(prof))
    os.chmod(course, 0o770)
    assert platform.api("POST", f"/users/{prof}/server").status_code in (201, 202)  # starts while the student looks
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        _open_lab(page, sign_in, student)
        assert "Nbgrader" not in _menu_labels(page)
        assert page.locator(CREATE_ASSIGNMENT_TAB).count() == 0
        disabled = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
                                 ".disabledExtensions")
        assert "@jupyter/nbgrader:validate-assignment" in disabled  # its Validate button: no server side here
    finally:
        page.close()
        platform.stop_server(student)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        _open_lab(page, sign_in, prof)
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
        url = f"/user/{prof}/formgrader/api/student/ada"
        refused, _ = grader.evaluate(FORMGRADER_PUT, [url, False])
        status, body = grader.evaluate(FORMGRADER_PUT, [url, True])
        assert refused == 403, refused
        assert status == 200, body
        assert '"first_name": "Ada"' in body or '"first_name":"Ada"' in body
    finally:
        page.close()
        platform.stop_server(prof)
