"""Dashboard bugs seen by a new user: duplicate "not given" bars, a QA axis spanning years, "0.0 hours",
and annotators without peers drawn at F1 = 0."""

import base64
import re
from datetime import date

import pytest
from django.test import Client

from apps.core.units import duration_human
from apps.review import charts
from apps.review.dashboard import dashboard_data, dashboard_render
from tests.catalog.factories import RecordingFactory, SpeakerFactory

pytestmark = pytest.mark.django_db


def _texts(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg) if t.strip()]


def test_no_speaker_and_blank_gender_are_one_not_given_bar(review_project):
    project, users, _ = review_project
    blank = SpeakerFactory(project=project, gender="", age_band="")
    RecordingFactory(project=project, speaker=blank, duration=10.0)
    RecordingFactory(project=project, speaker=None, duration=5.0)
    RecordingFactory(project=project, speaker=SpeakerFactory(project=project, gender="male"), duration=1.0)
    data = dashboard_data(actor=users["manager"], project_id=project.id)
    assert [(g, n) for g, n, _ in data["genders"]] == [("not given", 2), ("male", 1)]
    assert [a for a, _, _ in data["ages"]].count("not given") == 1
    svg = dashboard_render(actor=users["manager"], project_id=project.id)["charts"]["genders"]
    assert _texts(svg).count("not given") == 1


def test_qa_axis_spans_only_the_days_with_data():
    svg = charts.lines_over_time("QA flags per day", [date(2026, 12, 6)], {"clipping": [3]}, ylabel="flagged")
    years = {y for t in _texts(svg) for y in re.findall(r"\b(20\d\d)\b", t)}
    assert years == {"2026"}
    assert "06 Dec 2026" in _texts(svg)
    days = [date(2026, 11, d) for d in (1, 2, 20)]
    svg = charts.lines_over_time("QA flags per day", days, {"clipping": [1, 2, 1]})
    ticks = [t for t in _texts(svg) if re.fullmatch(r"\d\d \w\w\w", t)]
    assert ticks and all(t.endswith("Nov") for t in ticks) and len(ticks) <= 9


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0 s"), (2.5, "2.5 s"), (42, "42 s"), (96, "1.6 min"), (3600 * 3.25, "3.25 h"), (3600 * 120, "120.0 h")],
)
def test_durations_read_in_a_sensible_unit(seconds, text):
    assert duration_human(seconds) == text


def test_small_projects_show_audio_in_minutes_not_zero_hours(review_project):
    project, users, _ = review_project
    for _ in range(24):
        RecordingFactory(project=project, duration=4.0)
    client = Client()
    client.force_login(users["manager"])
    html = client.get(f"/projects/{project.id}/dashboard/").content.decode()
    assert re.search(r'data-testid="total-audio">1.6 min<', html)
    assert "0.0" not in re.search(r'data-testid="total-audio">[^<]*', html).group(0)
    status_figure = re.search(r'data-testid="chart-status">(.*?)</figure>', html, re.S).group(1)
    # Charts are <img> data URIs (no inline SVG under the CSP): read the axis label from the decoded image.
    status_svg = base64.b64decode(
        re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', status_figure).group(1)
    ).decode()
    assert "minutes" in _texts(status_svg)


def test_annotators_without_peers_are_not_drawn_at_f1_zero():
    svg = charts.scatter_annotators("Throughput and agreement", ["ann", "solo"], [1.0, 2.0], [0.8, None])
    assert "n/a (no peers yet): solo" in _texts(svg)
    assert "solo" not in [t for t in _texts(svg) if not t.startswith("n/a")]
