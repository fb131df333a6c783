"""Releases that read like a published dataset: the card's Hugging Face header, licence and citation, the
processing recipe and feature parameters, the project's rate, empty-split warnings, public pseudonyms and
k-anonymity, and Lhotse cuts."""

import re

import numpy as np
import pytest
import soundfile as sf

from apps.datasets.card_html import card_html, card_split
from apps.datasets.formats import FORMATS, render_data_card
from apps.datasets.models import ReleaseItem
from apps.datasets.services import release_build, release_create
from tests.datasets.test_formats import SPLITS, expected
from tests.datasets.test_formats import build as build_files
from tests.datasets.test_release_build import build

pytestmark = pytest.mark.django_db


def _header(card: str) -> str:
    yaml, _ = card_split(card)
    return yaml


def test_card_opens_with_a_hugging_face_header_and_states_licence_recipe_and_citation(corpus, release_root):
    release = build(
        corpus,
        unit="region",
        formats=["hf-parquet", "jsonl"],
        license="cc-by-4.0",
        description="Barks and meows from six speakers.",
        citation="@misc{barks, title={Barks}}",
        features=[],
    )
    import yaml as pyyaml  # PyYAML arrives with the test tools (lhotse, datasets): the header must parse as YAML

    head = pyyaml.safe_load(_header(release.data_card))
    assert head["license"] == "cc-by-4.0" and head["pretty_name"] == "barks"
    assert head["language"] == ["de", "en"] and head["size_categories"] == ["n<1K"]
    assert set(head["task_categories"]) == {"automatic-speech-recognition", "audio-classification"}
    assert head["configs"][0]["data_files"][0] == {"split": "train", "path": "data/train-*.parquet"}
    card = release.data_card
    assert "Barks and meows from six speakers." in card and "@misc{barks, title={Barks}}" in card
    assert "Audio: FLAC at 16000 Hz" in card and "Processing recipe" in card and "n_mels" in card
    jsonl_card = (release_root(release, "jsonl") / "README.md").read_text()
    assert pyyaml.safe_load(_header(jsonl_card))["configs"][0]["data_files"][0]["path"] == "manifests/train.jsonl"


def test_load_dataset_reads_the_release_folder_through_the_card_configs(corpus, release_root, tmp_path):
    """`datasets.load_dataset(dir)` finds the splits from the README header alone; audio read with
    Audio(decode=False) and soundfile (datasets 5 decodes through torchcodec, whose PyPI wheels for torch 2.13
    need CUDA libraries: see the README)."""
    import datasets

    release = build(corpus, unit="region", formats=["hf-parquet"])
    root = release_root(release, "hf-parquet")
    dd = datasets.load_dataset(str(root), cache_dir=str(tmp_path / "cache"))
    items = {s["split"] for s in ReleaseItem.objects.filter(release=release).values("split")}
    assert set(dd) == items
    row = dd["train"].cast_column("audio", datasets.Audio(decode=False))[0]
    samples, sr = sf.read(__import__("io").BytesIO(row["audio"]["bytes"]))
    assert sr == 16000 and len(samples) > 0


def test_no_sample_rate_means_the_projects_rate(corpus, release_root):
    project = corpus["project"]
    project.target_sample_rate = 8000
    project.save()
    release = build(corpus, unit="recording", formats=["jsonl"])
    flac = next((release_root(release, "jsonl") / "audio").rglob("*.flac"))
    assert sf.info(str(flac)).samplerate == 8000
    assert "Audio: FLAC at 8000 Hz" in release.data_card


def test_a_requested_split_that_would_be_empty_is_named_with_the_speakers_it_needs(corpus, client):
    spec = {
        "name": "thin",
        "unit": "recording",
        "formats": ["jsonl"],
        "splits": {"train": 0.9, "validation": 0.05, "test": 0.05},
    }
    release = release_create(
        actor=corpus["users"]["manager"], project_id=corpus["project"].id, spec=spec, enqueue=False
    )
    [warning, *_] = release.stats["warnings"]
    assert re.search(
        r"The (validation|test) split \(5% requested\) is empty: .* 6 speaker\(s\) .* needs at least 20 "
        r"speakers",
        warning,
    )
    client.force_login(corpus["users"]["manager"])
    api = client.get(f"/api/v1/releases/{release.id}/").json()
    assert warning in api["stats"]["warnings"]
    release = release_build(release_id=release.id)
    assert warning in release.stats["warnings"] and warning in release.data_card
    page = client.get(f"/releases/{release.id}/").content.decode()
    assert 'data-testid="release-warning"' in page and "needs at least 20 speakers" in page


def test_public_releases_use_salted_pseudonyms_and_hide_small_demographic_cells(corpus, release_root):
    for i, speaker in enumerate(corpus["speakers"]):
        speaker.gender = "female" if i < 5 else "male"
        speaker.save()
    one = build(corpus, unit="recording", purpose="public_release", formats=["jsonl"])
    two = build(corpus, unit="recording", purpose="public_release", formats=["jsonl"])
    codes = {s.code for s in corpus["speakers"]}

    def speakers(release):
        text = "".join(p.read_text() for p in (release_root(release, "jsonl") / "manifests").glob("*.jsonl"))
        return set(re.findall(r'"speaker": "([^"]+)"', text)), text

    first, text = speakers(one)
    second, _ = speakers(two)
    assert len(first) == 6 and not first & codes and not first & second  # salted per release
    assert not any(code in text for code in codes)
    assert "k-anonymity, k = 5" in one.data_card
    gender = one.data_card.split("### Gender", 1)[1].split("###", 1)[0]
    assert "| female | 5 |" in gender and "male |" not in gender.replace("female", "")
    assert "1 smaller group(s) not shown." in gender
    private = build(corpus, unit="recording", formats=["jsonl"])
    assert speakers(private)[0] == codes  # training releases keep the project's codes (internal use)


def test_rebuild_of_a_public_release_keeps_its_pseudonyms(corpus, release_root):
    from apps.datasets.services import release_rebuild

    one = build(corpus, unit="recording", purpose="public_release", formats=["jsonl"])
    two = release_build(release_id=release_rebuild(actor=corpus["users"]["manager"], release_id=one.id).id)
    files = lambda r: sorted((p.name, p.read_bytes()) for p in (release_root(r, "jsonl") / "manifests").glob("*"))  # noqa: E731
    assert files(one) == files(two)


def test_spec_refuses_a_malformed_licence_with_a_sentence(corpus):
    from apps.core.errors import DomainError

    with pytest.raises(DomainError, match="SPDX-style identifier"):
        release_create(
            actor=corpus["users"]["manager"],
            project_id=corpus["project"].id,
            spec={"license": "CC BY 4.0!", "formats": ["jsonl"]},
            enqueue=False,
        )


def test_lhotse_cuts_equal_what_cutset_from_manifests_makes(tmp_path):
    from lhotse import CutSet, RecordingSet, SupervisionSet

    build_files(tmp_path, formats=["lhotse"])
    root = tmp_path / "lhotse"
    seen = 0
    for split in SPLITS:
        cuts_file = root / f"lhotse/cuts_{split}.jsonl.gz"
        if not cuts_file.exists():
            continue
        ours = CutSet.from_file(cuts_file).with_recording_path_prefix(root)
        theirs = CutSet.from_manifests(
            recordings=RecordingSet.from_file(root / f"lhotse/recordings_{split}.jsonl.gz").with_path_prefix(root),
            supervisions=SupervisionSet.from_file(root / f"lhotse/supervisions_{split}.jsonl.gz"),
        )
        by_recording = {c.recording_id: c for c in theirs}
        for cut in ours:
            other = by_recording[cut.recording_id]
            assert cut.id == cut.recording_id
            mine, want = cut.to_dict(), other.to_dict()
            mine.pop("id"), want.pop("id")
            assert mine == want
            np.testing.assert_array_equal(cut.load_audio(), other.load_audio())
            seen += 1
    assert seen == len(expected())


def test_card_html_is_rendered_markdown_with_nothing_unsafe():
    card = render_data_card(
        {
            "name": "x <script>alert(1)</script>",
            "splits": {"train": {"items": 1}},
            "description": "<img src=x onerror=alert(1)> [link](javascript:alert(1)) **bold**",
        }
    )
    html = str(card_html(card))
    assert "<h1>" in html and "<table>" in html and "<strong>bold</strong>" in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html  # text, not markup
    assert "&lt;script&gt;" in html
    assert "license:" not in html  # the YAML header is shown apart, not as text of the card


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_formats_card_has_a_header(tmp_path, fmt):
    build_files(tmp_path, formats=[fmt])
    assert (tmp_path / fmt / "README.md").read_text().startswith("---\nlicense: ")


def test_release_page_lists_the_recordings_left_out_and_why(corpus, client):
    from apps.review.models import QAResult

    flagged = next(rec for rec, _ in corpus["recs"].values() if rec.language.tag == "en")
    QAResult.objects.create(recording=flagged, project=corpus["project"], flags=",clipping,", flagged=True)
    release = build(corpus, unit="recording", formats=["jsonl"], filters={"languages": ["en"]})
    client.force_login(corpus["users"]["manager"])
    page = client.get(f"/releases/{release.id}/").content.decode()
    table = page.split('data-testid="release-exclusions"', 1)[1].split("</table>", 1)[0]
    assert table.count("language de is not among en") == 6  # the three German speakers' recordings
    assert table.count("flagged by automatic QA") == 1
    assert f'href="/recordings/{flagged.id}/"' in table
