"""axe-core (vendored, injected) on the pages the team's day does not visit: no serious or critical violation."""

import pytest

from tests.e2e.axe import axe_violations
from tests.e2e.conftest import _watch
from tests.e2e.test_annotator import _ingest, _labels, _speechy

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_main_pages_have_no_serious_accessibility_violations(
    live_server, browser_context, transactional_db, project_with_roles
):
    from tests.e2e.conftest import session_cookie_for

    project, users = project_with_roles
    _labels(project)
    rid = _ingest(project, users["manager"], "a.wav", _speechy(2, seed=3))
    ctx = browser_context(bypass_csp=True)
    ctx.add_cookies([session_cookie_for(users["manager"], live_server.url)])
    page = _watch(ctx.new_page())
    problems = []
    for path in (
        "/",
        f"/projects/{project.id}/",
        "/account/tokens/",
        f"/projects/{project.id}/processing/",
        f"/projects/{project.id}/overlap/",
        f"/recordings/{rid}/",
        f"/projects/{project.id}/recordings/?min_duration=x",
        f"/projects/{project.id}/releases/",
        f"/projects/{project.id}/settings/",
        f"/projects/{project.id}/members/",
        "/projects/new/",
    ):
        page.goto(live_server.url + path)
        problems += [f"{path}: {v}" for v in axe_violations(page)]
    assert not problems, "\n".join(problems)
