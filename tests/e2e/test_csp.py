"""Every main page under the Content-Security-Policy in Chromium (issue 13): no violation is reported.

The policy has no 'unsafe-inline': an inline <script>, <style> or style="" attribute left in a template, or a
library injecting one without the page's nonce (wavesurfer's shadow-root style), shows up here as a
`securitypolicyviolation` event and a console message.
"""

import pytest

from tests.e2e.test_annotator import READY, labelling_project  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Recorded before any page script runs; Playwright's init scripts are not subject to the page's CSP.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`;
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where} ${e.sample || ""}`);
});
"""


def _violations(page, messages) -> list[str]:
    page.wait_for_timeout(300)  # violation events are dispatched asynchronously
    return page.evaluate("window.__csp") + [m for m in messages if "Content Security Policy" in m]


def test_main_pages_report_no_csp_violation(
    live_server,
    logged_in_page,
    new_page,
    labelling_project,  # noqa: F811
    make_user,
):
    project, users, _, recording_ids = labelling_project
    pid = project.id
    pages = {
        "manager": [
            "/",
            f"/projects/{pid}/",
            f"/projects/{pid}/recordings/",
            f"/projects/{pid}/upload/",
            f"/projects/{pid}/processing/",
            f"/projects/{pid}/dashboard/",
            f"/projects/{pid}/review/",
            f"/projects/{pid}/overlap/",
            f"/projects/{pid}/releases/",
            f"/projects/{pid}/consent/",
            "/account/tokens/",
            "/api/docs/",
        ],
        "annotator": [f"/projects/{pid}/annotate/"],
    }
    found = {}
    for role, urls in pages.items():
        page = logged_in_page(users[role])
        page.add_init_script(WATCH_CSP)
        messages = []
        page.on("console", lambda msg, messages=messages: messages.append(msg.text))
        for url in urls:
            messages.clear()
            response = page.goto(live_server.url + url)
            assert response.status == 200, url
            assert "unsafe-inline" not in response.headers["content-security-policy"]
            if url.endswith("/annotate/"):
                page.wait_for_selector(READY, timeout=30000)  # wavesurfer drawn: its shadow-root style applied
                assert page.locator("[data-testid=waveform]").bounding_box()["height"] > 50
            if url == "/api/docs/":
                page.wait_for_selector(".swagger-ui .info", timeout=30000)
            if problems := _violations(page, messages):
                found[url] = problems
    signed_out = new_page()
    signed_out.add_init_script(WATCH_CSP)
    messages = []
    signed_out.on("console", lambda msg: messages.append(msg.text))
    signed_out.goto(live_server.url + "/accounts/login/")
    if problems := _violations(signed_out, messages):
        found["/accounts/login/"] = problems
    assert found == {}
