"""HTTP Range per RFC 9110 §14: the pure parser, and the audio endpoint answering with it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.catalog.streaming import ByteRange, RangeNotSatisfiable, parse_range
from tests.conftest import make_audio

SIZE = 1000


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, None),
        ("", None),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=990-5000", ByteRange(990, 999)),  # last-pos past the end is clamped
        ("bytes=-10", ByteRange(990, 999)),
        ("bytes=-5000", ByteRange(0, 999)),  # suffix longer than the file: the whole file, still 206
        ("Bytes = 5-6", ByteRange(5, 6)),  # the unit is case-insensitive
        ("bytes=0-1,5-9", None),  # several ranges: ignored (no multipart), 200
        ("bytes=0-1, 5-9", None),
        ("pages=1-2", None),  # unknown unit: ignored, never refused
        ("items=0-", None),
        ("bytes=abc", None),  # malformed: ignored
        ("bytes=-", None),
        ("bytes=9-3", None),  # last before first: an invalid spec, ignored
        ("bytes", None),
        ("bytes=" + "9" * 5000 + "-" + "9" * 5000, "416"),
        ("bytes=0-" + "9" * 5000, ByteRange(0, 999)),
        ("bytes=-" + "9" * 5000, ByteRange(0, 999)),
        ("bytes=1000-", "416"),  # starts at the end
        ("bytes=" + "9" * 5000 + "-", "416"),  # 5,000 digits: was a ValueError (500)
        ("bytes=-0", "416"),  # the last 0 bytes select nothing
    ],
)
def test_parse_range_follows_rfc_9110(header, expected):
    if expected == "416":
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, SIZE)
    else:
        assert parse_range(header, SIZE) == expected


def test_empty_file_satisfies_no_range():
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-10", 0)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


@given(size=st.integers(0, 10**12), header=st.text(max_size=60) | st.from_regex(r"\Abytes=\d{0,25}-\d{0,25}\Z"))
def test_parse_range_never_crashes_and_stays_inside_the_file(size, header):
    try:
        result = parse_range(header, size)
    except RangeNotSatisfiable:
        return
    if result is not None:
        assert 0 <= result.start <= result.end < size


@pytest.fixture
def audio(api, project_with_roles):
    import io

    project, users = project_with_roles
    content = make_audio(seconds=0.5)
    res = api(users["manager"]).post(
        f"/api/v1/projects/{project.id}/recordings/", {"files": [io.BytesIO(content)]}, format="multipart"
    )
    assert res.status_code == 201
    recording_id = res.json()["results"][0]["recording_id"]
    return api(users["viewer"]), f"/api/v1/recordings/{recording_id}/audio", content


def _body(response):
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "pages=1-2", "bytes=9-3", "bytes=abc"])
def test_audio_ignores_ranges_it_does_not_answer(audio, header):
    client, url, content = audio
    res = client.get(url, HTTP_RANGE=header)
    assert res.status_code == 200
    assert res["Accept-Ranges"] == "bytes" and "Content-Range" not in res
    assert _body(res) == content and res["Content-Length"] == str(len(content))


def test_audio_suffix_longer_than_the_file_is_the_whole_file(audio):
    client, url, content = audio
    res = client.get(url, HTTP_RANGE=f"bytes=-{len(content) * 3}")
    assert res.status_code == 206 and res["Content-Range"] == f"bytes 0-{len(content) - 1}/{len(content)}"
    assert _body(res) == content


@pytest.mark.parametrize("header", [f"bytes={'9' * 5000}-", "bytes=-0"])
def test_audio_unsatisfiable_range_is_416_with_a_sentence(audio, header):
    client, url, content = audio
    res = client.get(url, HTTP_RANGE=header)
    assert res.status_code == 416 and res["Content-Range"] == f"bytes */{len(content)}"
    assert "outside the file" in res.json()["detail"]
