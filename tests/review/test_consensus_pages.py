"""Consensus pages: overlap items listed, annotations side by side, adopt one with a form."""

import pytest
from django.test import Client

from apps.annotation.models import Annotation
from apps.review.models import Consensus

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_overlap_list_then_side_by_side_then_adopt(overlap):
    project, users, _ = overlap
    client = _client(users["reviewer"])
    listing = client.get(f"/projects/{project.id}/overlap/").content.decode()
    first = Annotation.objects.filter(project_id=project.id).order_by("recording_id", "id").first()
    assert f'href="/recordings/{first.recording_id}/consensus/"' in listing and listing.count('badge">open') == 3
    page = client.get(f"/recordings/{first.recording_id}/consensus/").content.decode()
    assert page.count('data-testid="consensus-annotation"') == 2
    assert "Region F1 between annotators 0.50" in page and "speech" in page and "noise" in page
    response = client.post(f"/recordings/{first.recording_id}/consensus/", {"annotation_id": first.id})
    assert response.status_code == 302
    consensus = Consensus.objects.get()
    assert (consensus.annotation_id, consensus.decision, consensus.reviewer) == (first.id, "adopt", users["reviewer"])
    assert "decided" in client.get(f"/projects/{project.id}/overlap/").content.decode()


def test_adopting_a_foreign_annotation_shows_the_error_and_writes_nothing(overlap):
    project, users, _ = overlap
    first = Annotation.objects.filter(project_id=project.id).order_by("recording_id", "id").first()
    other = Annotation.objects.exclude(recording_id=first.recording_id).first()
    client = _client(users["reviewer"])
    response = client.post(f"/recordings/{first.recording_id}/consensus/", {"annotation_id": other.id}, follow=True)
    assert "must be a submitted or accepted annotation of this recording" in response.content.decode()
    assert not Consensus.objects.exists()


def test_annotators_cannot_open_consensus_pages(overlap):
    project, users, _ = overlap
    first = Annotation.objects.filter(project_id=project.id).first()
    client = _client(users["annotator"])
    assert client.get(f"/projects/{project.id}/overlap/").status_code == 404
    assert client.get(f"/recordings/{first.recording_id}/consensus/").status_code == 404


def test_merge_keeps_exactly_the_ticked_regions_of_both_annotations(overlap):
    project, users, _ = overlap
    first = Annotation.objects.filter(project_id=project.id).order_by("recording_id", "id").first()
    second = Annotation.objects.filter(recording_id=first.recording_id).exclude(id=first.id).get()
    client = _client(users["reviewer"])
    page = client.get(f"/recordings/{first.recording_id}/consensus/").content.decode()
    assert page.count('data-testid="merge-region"') == first.regions.count() + second.regions.count()
    response = client.post(
        f"/recordings/{first.recording_id}/consensus/",
        {"action": "merge", "base": first.id, "region": [f"{first.id}:0", f"{second.id}:0"]},
        follow=True,
    )
    assert "Merged 2 region(s) into annotation" in response.content.decode()
    first.refresh_from_db()
    assert first.status == "accepted" and first.regions.count() == 2
    assert Consensus.objects.get().decision == "merge"


def test_merge_with_nothing_ticked_says_so_and_writes_nothing(overlap):
    project, users, _ = overlap
    first = Annotation.objects.filter(project_id=project.id).order_by("recording_id", "id").first()
    response = _client(users["reviewer"]).post(
        f"/recordings/{first.recording_id}/consensus/", {"action": "merge", "base": first.id}, follow=True
    )
    assert "Tick the regions the merged annotation should keep." in response.content.decode()
    assert not Consensus.objects.exists()
