from django.apps import AppConfig

from apps.core.hooks import (
    ANNOTATIONS_EXPORT,
    DEMO_PROJECT_SEED,
    RECORDING_IN_WORK,
    RECORDING_PANELS,
    RECORDING_PROCESSED,
    RECORDING_PURGE_ASSIGNMENTS,
    RECORDING_PURGE_TRANSCRIPTS,
    RECORDINGS_WITHDRAWN,
    hook_register,
)


class AnnotationConfig(AppConfig):
    name = "apps.annotation"
    label = "annotation"

    def ready(self):
        # Same-app imports here: selectors and services import models, which load only once apps are ready.
        from apps.annotation.panels import recording_annotations_panel
        from apps.annotation.selectors import annotations_export, recording_in_annotator_work
        from apps.annotation.services import hooks
        from apps.annotation.services.drafts import drafts_enqueue_if_wanted

        hook_register(RECORDINGS_WITHDRAWN, hooks.on_recordings_withdrawn)
        hook_register(RECORDING_PURGE_ASSIGNMENTS, hooks.assignments_cancel_for_recordings)
        hook_register(RECORDING_PURGE_TRANSCRIPTS, hooks.annotations_redact_for_recordings)
        hook_register(ANNOTATIONS_EXPORT, annotations_export)
        hook_register(DEMO_PROJECT_SEED, hooks.demo_labels_seed)
        hook_register(RECORDING_PANELS, recording_annotations_panel)
        hook_register(RECORDING_IN_WORK, recording_in_annotator_work)
        hook_register(RECORDING_PROCESSED, drafts_enqueue_if_wanted)  # draft transcripts for the project's languages
