from django.apps import AppConfig

from apps.core.hooks import (
    AUDIT_RECORD,
    DEMO_PROJECT_SEED,
    LOGIN_EVENT,
    METRICS_GAUGES,
    RECORDING_GET_USABLE,
    RECORDING_INGEST_CHECK,
    RECORDING_PANELS,
    RECORDINGS_USABLE,
    STORAGE_OWNERS,
    hook_register,
)


class ConsentConfig(AppConfig):
    name = "apps.consent"
    label = "consent"

    def ready(self):
        # Same-app imports here: selectors and services import models, which load only once apps are ready.
        from apps.consent import selectors, services
        from apps.consent.panels import recording_consent_panel
        from apps.consent.services.audit import audit_login_event
        from apps.consent.services.records import demo_speakers_seed

        hook_register(RECORDINGS_USABLE, selectors.recordings_usable)
        hook_register(RECORDING_GET_USABLE, selectors.recording_get_usable)
        hook_register(RECORDING_INGEST_CHECK, services.recording_ingest_check)
        hook_register(AUDIT_RECORD, services.audit_record)
        hook_register(DEMO_PROJECT_SEED, demo_speakers_seed)
        hook_register(METRICS_GAUGES, selectors.purge_metrics)  # /metrics
        hook_register(RECORDING_PANELS, recording_consent_panel)
        hook_register(LOGIN_EVENT, audit_login_event)
        hook_register(STORAGE_OWNERS, selectors.storage_owners)  # the storage sweep asks which objects are ours
