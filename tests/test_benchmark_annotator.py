"""benchmarks/annotator_load.py runs end to end at its smallest size, --floor's pages included (its own gunicorn on
SQLite, Debian's Chromium): the benchmark behind the README's annotator figures keeps working as the page changes."""

import re

import pytest

from tests.conftest import benchmark_run, chromium_available, require_service

PAGES = (
    "Earmark (embedded item + peaks)",
    "served from memory",
    "floor: embedded item",
    "floor + a line of text",
    "baseline (wavesurfer given file)",
    "baseline, bare (no COOP header)",  # the site sends Cross-Origin-Opener-Policy, so the bare page is measured too
)


def _run(*args: str):
    return benchmark_run("annotator_load.py", *args)


@pytest.mark.browser
def test_annotator_benchmark_measures_every_page_with_floor():
    require_service("Chromium", chromium_available())
    done = _run("--runs", "1", "--short-only", "--screenshots", "", "--floor", "--saves", "1")
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    out = done.stdout
    for page in PAGES:  # a row with interactive, painted, playable and usable times
        assert re.search(rf"^5 s +{re.escape(page)} +(\d+\.\d{{3}} s +){{2}}", out, re.M), (page, out)
    ratios = ("Earmark / baseline (usable)", "Earmark / bare baseline (usable)")
    ratios += tuple(f"{page} / baseline" for page in PAGES[1:4])
    for ratio in ratios:
        assert re.search(rf"{re.escape(ratio)} +\d+\.\d\dx", out), (ratio, out)
    assert re.search(r"autosave round-trip \(5 s, debounced, 1 saves", out), out


@pytest.mark.parametrize("option", ["--runs", "--saves"])
def test_annotator_benchmark_refuses_counts_below_one(option):
    done = _run(option, "0")
    assert done.returncode == 2
    assert f"argument {option}: must be at least 1" in done.stderr
