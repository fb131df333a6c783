"""axe-core in the page under test: the vendored tests/e2e/vendor/axe.min.js, injected, never fetched."""

from pathlib import Path

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
BLOCKING = ("serious", "critical")


def axe_violations(page, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """Serious and critical WCAG 2 A/AA violations on the page, one line each (empty when there are none).

    The page's context must be made with ``bypass_csp=True``: the site's Content-Security-Policy allows no inline
    script, and axe arrives as one.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE)
    result = page.evaluate(
        """async (exclude) => {
            const r = await axe.run({exclude: exclude.map((s) => [s])},
                                    {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                                     resultTypes: ['violations']});
            return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                             nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}));
        }""",
        list(exclude),
    )
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in result if v["impact"] in BLOCKING]
