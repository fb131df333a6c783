from django.apps import AppConfig

from apps.core.hooks import (
    METRICS_GAUGES,
    RECORDING_INGESTED,
    RECORDING_PANELS,
    RECORDING_PROCESSING,
    RECORDING_PURGE_DERIVED,
    RECORDINGS_ANNOTATE,
    RECORDINGS_INGESTED,
    RECORDINGS_RELEASED,
    STORAGE_OWNERS,
    SUBJECT_ACCESS_SECTIONS,
    hook_register,
)


class ProcessingConfig(AppConfig):
    name = "apps.processing"
    label = "processing"

    def ready(self):
        # Same-app imports here: selectors and services import models, which load only once apps are ready.
        from apps.processing import selectors, services
        from apps.processing.hooks import recordings_released_queue, subject_access_derived
        from apps.processing.panels import recording_jobs_panel

        hook_register(RECORDING_INGESTED, services.recording_queue_processing)
        hook_register(RECORDINGS_INGESTED, services.recordings_queue_processing)
        hook_register(RECORDINGS_ANNOTATE, selectors.recordings_annotate_processing)
        hook_register(RECORDING_PROCESSING, selectors.recording_processing)
        hook_register(RECORDING_PURGE_DERIVED, services.artifacts_purge_for_recording)
        hook_register(METRICS_GAUGES, selectors.jobs_metrics)  # /metrics
        hook_register(RECORDING_PANELS, recording_jobs_panel)
        hook_register(STORAGE_OWNERS, selectors.storage_owners)  # the storage sweep asks which objects are ours
        hook_register(RECORDINGS_RELEASED, recordings_released_queue)
        hook_register(SUBJECT_ACCESS_SECTIONS, subject_access_derived)
