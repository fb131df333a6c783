from django.apps import AppConfig

from apps.core.hooks import (
    QUEUE_EXCLUDED_IDS,
    QUEUE_GOLD_IDS,
    RECORDING_IN_WORK,
    RECORDING_PANELS,
    RECORDING_PROCESSED,
    TRANSCRIPT_ALIGNED,
    hook_register,
)


class ReviewConfig(AppConfig):
    name = "apps.review"
    label = "review"

    def ready(self):
        # Same-app imports here: selectors and services import models, which load only once apps are ready.
        from apps.review import selectors, services
        from apps.review.panels import recording_qa_panel

        hook_register(RECORDING_PROCESSED, services.qa_on_processed)
        hook_register(QUEUE_EXCLUDED_IDS, selectors.qa_excluded_recording_ids)
        hook_register(QUEUE_GOLD_IDS, selectors.gold_recording_ids)
        hook_register(RECORDING_PANELS, recording_qa_panel)
        hook_register(RECORDING_IN_WORK, selectors.recording_in_reviewer_work)
        hook_register(TRANSCRIPT_ALIGNED, services.on_transcript_aligned)
