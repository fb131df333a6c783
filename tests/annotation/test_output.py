"""One output shape per resource: what the views return is exactly what the schema's serializer declares."""

import pytest

from apps.annotation.models import Annotation, AnnotationVersion, Region
from apps.annotation.serializers import AnnotationOutput, RegionOutput, VersionOutput
from tests.catalog.factories import RecordingFactory

pytestmark = pytest.mark.django_db


def test_annotation_output_renders_exactly_its_declared_fields(project_with_roles):
    project, users = project_with_roles
    recording = RecordingFactory(project=project)
    annotation = Annotation.objects.create(
        project=project, recording=recording, annotator=users["annotator"], status="open", version=1
    )
    Region.objects.create(annotation=annotation, uid="r1", start=0.5, end=1.0, text="hi")
    AnnotationVersion.objects.create(
        annotation=annotation,
        version=1,
        author=users["annotator"],
        kind="save",
        status="open",
        regions=[],
        clip_labels=[],
    )
    data = AnnotationOutput(Annotation.objects.prefetch_related("regions", "clip_labels").get(pk=annotation.pk)).data
    assert set(data) == set(AnnotationOutput().fields)
    assert set(data["regions"][0]) == set(RegionOutput().fields)
    assert data["regions"][0] == {
        "id": "r1",
        "start": 0.5,
        "end": 1.0,
        "channel": None,
        "label": None,
        "text": "hi",
        "attributes": {},
        "fmin": None,
        "fmax": None,
        "source": None,
    }
    version = VersionOutput(annotation.versions.get()).data
    assert set(version) == set(VersionOutput().fields)


def test_the_api_returns_the_output_serializers_shape(api, project_with_roles):
    project, users = project_with_roles
    recording = RecordingFactory(project=project)
    annotation = Annotation.objects.create(
        project=project, recording=recording, annotator=users["annotator"], status="open", version=1
    )
    body = api(users["annotator"]).get(f"/api/v1/annotations/{annotation.id}/").json()
    assert set(body) == set(AnnotationOutput().fields)
