from django.apps import AppConfig

from apps.core.hooks import (
    AUDIT_RECORD,
    DEMO_PROJECT_SEED,
    RECORDING_GET_USABLE,
    RECORDING_INGEST_CHECK,
    RECORDINGS_USABLE,
    hook_register,
)


class ConsentConfig(AppConfig):
    name = "apps.consent"
    label = "consent"

    def ready(self):
        # Same-app imports here: selectors and services import models, which load only once apps are ready.
        from apps.consent import selectors, services
        from apps.consent.services.records import demo_speakers_seed

        hook_register(RECORDINGS_USABLE, selectors.recordings_usable)
        hook_register(RECORDING_GET_USABLE, selectors.recording_get_usable)
        hook_register(RECORDING_INGEST_CHECK, services.recording_ingest_check)
        hook_register(AUDIT_RECORD, services.audit_record)
        hook_register(DEMO_PROJECT_SEED, demo_speakers_seed)
