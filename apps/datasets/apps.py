from django.apps import AppConfig

from apps.core.hooks import RECORDINGS_WITHDRAWN, SUBJECT_ACCESS_SECTIONS, hook_register


class DatasetsConfig(AppConfig):
    name = "apps.datasets"
    label = "datasets"

    def ready(self):
        # Models load only once apps are ready
        from apps.datasets.hooks import subject_access_releases
        from apps.datasets.services.releases import on_recordings_withdrawn

        hook_register(RECORDINGS_WITHDRAWN, on_recordings_withdrawn)
        hook_register(SUBJECT_ACCESS_SECTIONS, subject_access_releases)
