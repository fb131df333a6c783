from django.apps import AppConfig

from apps.core.hooks import (
    METRICS_GAUGES,
    RECORDING_PANELS,
    RECORDINGS_WITHDRAWN,
    STORAGE_OWNERS,
    SUBJECT_ACCESS_SECTIONS,
    hook_register,
)


class DatasetsConfig(AppConfig):
    name = "apps.datasets"
    label = "datasets"

    def ready(self):
        # Models load only once apps are ready
        from apps.datasets.hooks import subject_access_releases
        from apps.datasets.panels import recording_releases_panel
        from apps.datasets.selectors import releases_metrics, storage_owners
        from apps.datasets.services.releases import on_recordings_withdrawn

        hook_register(RECORDINGS_WITHDRAWN, on_recordings_withdrawn)
        hook_register(METRICS_GAUGES, releases_metrics)  # /metrics
        hook_register(RECORDING_PANELS, recording_releases_panel)
        hook_register(STORAGE_OWNERS, storage_owners)  # the storage sweep asks which objects are ours
        hook_register(SUBJECT_ACCESS_SECTIONS, subject_access_releases)
