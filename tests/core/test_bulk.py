"""rows_insert writes exactly the rows bulk_create writes, sets their keys, and leaves unusual cases to it."""

import pytest
from django.db import IntegrityError, transaction

from apps.catalog.models import Language, Recording, RecordingStatus, Speaker
from apps.core.bulk import rows_insert
from apps.processing.models import JobKind, ProcessingJob, Recipe

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.fixture
def project(user):
    from apps.catalog.services import project_create

    return project_create(name="Bulk", created_by=user)


IGNORED = {"id", "original_key", "sha256", "created_at", "recording_id"}


def recordings(project, user, tag, speaker=None, language=None):
    return [
        Recording(
            project=project,
            speaker=speaker if i % 2 else None,
            language=language if i % 3 else None,
            original_key=f"originals/{tag}{i}.wav",
            original_name=f"clip {i} é.wav",
            sha256=f"{tag}{i:063d}",
            container="wav",
            codec="pcm_s16le",
            sample_rate=16000,
            input_sample_rate=48000 if i % 2 else None,
            channels=1 + i % 2,
            frames=80000 + i,
            duration=5.0 + i / 7,
            bytes=160044 + i,
            status=RecordingStatus.READY if i == 3 else "ingested",
            metadata={"i": i, "nested": ["a", None]} if i % 2 else {},
            created_by=user if i % 2 else None,
        )
        for i in range(7)
    ]


def rows(objs):
    found = Recording.objects.filter(id__in=[o.pk for o in objs]).order_by("id").values()
    return [{k: v for k, v in row.items() if k not in IGNORED} for row in found]


def test_rows_are_those_bulk_create_writes_with_keys_set(project, user):
    speaker = Speaker.objects.create(project=project, code="spk")
    language = Language.objects.create(tag="fr")
    ours = rows_insert(Recording, recordings(project, user, "a", speaker, language))
    theirs = Recording.objects.bulk_create(recordings(project, user, "b", speaker, language))
    assert all(o.pk and not o._state.adding and o._state.db == "default" for o in ours)
    assert [o.pk for o in ours] == sorted(o.pk for o in ours)
    assert rows(ours) == rows(theirs)
    assert all(o.created_at is not None for o in ours)  # auto_now_add set on the instances too
    assert Recording.objects.get(pk=ours[1].pk).original_key == "originals/a1.wav"


def test_many_rows_span_several_statements_in_order(project):
    objs = [
        Recording(
            project=project,
            original_key=f"k{i}",
            sha256=f"{i:064d}",
            container="wav",
            sample_rate=16000,
            channels=1,
            frames=1,
            duration=0.1,
            bytes=i,
        )
        for i in range(250)  # SQLite: 58 rows per statement; PostgreSQL: one
    ]
    rows_insert(Recording, objs)
    assert dict(Recording.objects.filter(project=project).values_list("id", "bytes")) == {o.pk: o.bytes for o in objs}


def test_a_constraint_still_refuses_the_statement(project):
    make = lambda: Recording(  # noqa: E731
        project=project, original_key="k", sha256="0" * 64, container="wav", sample_rate=1, channels=1, frames=1,
        duration=1.0, bytes=1,
    )  # fmt: skip
    rows_insert(Recording, [make()])
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(Recording, [make()])


def test_related_objects_saved_after_assignment_give_their_key(project):
    recipe = Recipe(project=project, name="late", spec={})
    job = ProcessingJob(kind=JobKind.PROJECT, project_id=project.id, recipe=recipe)
    recipe.save()  # saved after it was assigned: bulk_create copies its pk, and so must rows_insert
    rows_insert(ProcessingJob, [job])
    assert ProcessingJob.objects.get(pk=job.pk).recipe_id == recipe.pk


def test_an_unsaved_related_object_is_refused_as_bulk_create_refuses_it(project):
    job = ProcessingJob(
        kind=JobKind.PROJECT, project_id=project.id, recipe=Recipe(project=project, name="never", spec={})
    )
    with pytest.raises(ValueError, match="unsaved related object"):
        rows_insert(ProcessingJob, [job])


def test_objects_with_keys_go_to_bulk_create(project):
    given = Recording(
        id=987654, project=project, original_key="k", sha256="1" * 64, container="wav", sample_rate=1, channels=1,
        frames=1, duration=1.0, bytes=1,
    )  # fmt: skip
    rows_insert(Recording, [given])
    assert Recording.objects.filter(pk=987654).exists()
