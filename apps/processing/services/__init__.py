"""Processing services. Cross-app hooks keep these names: recording_queue_processing, artifacts_purge_for_recording."""

from __future__ import annotations

from .artifacts import ArtifactWriter, artifact_key, artifacts_purge_for_recording
from .jobs import (
    job_claim,
    job_fail,
    job_progress_aggregate,
    jobs_requeue_stale,
    project_reprocess,
    recording_job_create,
    recording_jobs_create_new,
)
from .recipes import (
    RecipeError,
    project_recipe_activate,
    project_recipe_get,
    project_recipe_set,
    recipe_create,
    recipe_default_spec,
    recipe_spec_validate,
)
from .runner import JobOutcome, job_run


def recording_queue_processing(*, recording) -> None:
    """Queue the processing job for a new recording with its project's recipe; sent after commit.

    Writes ProcessingJob."""
    recording_job_create(recording=recording, recipe=project_recipe_get(project=recording.project))


def recordings_queue_processing(*, project, recording_ids) -> None:
    """Queue jobs for many NEW recordings of one project: one recipe lookup, one insert, sent after commit.

    Only for recordings created in the current transaction (they cannot have a job yet). Writes ProcessingJob.
    """
    if recording_ids:
        recording_jobs_create_new(
            project=project, recording_ids=recording_ids, recipe=project_recipe_get(project=project)
        )


__all__ = [
    "ArtifactWriter",
    "JobOutcome",
    "RecipeError",
    "artifact_key",
    "artifacts_purge_for_recording",
    "job_claim",
    "job_fail",
    "job_progress_aggregate",
    "job_run",
    "jobs_requeue_stale",
    "project_recipe_activate",
    "project_recipe_get",
    "project_recipe_set",
    "project_reprocess",
    "recipe_create",
    "recipe_default_spec",
    "recipe_spec_validate",
    "recording_job_create",
    "recording_jobs_create_new",
    "recording_queue_processing",
    "recordings_queue_processing",
]
