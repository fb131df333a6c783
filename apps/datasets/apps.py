from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "apps.datasets"
    label = "datasets"

    def ready(self):
        from apps.core.hooks import SUBJECT_ACCESS_SECTIONS, hook_register
        from apps.datasets.hooks import subject_access_releases

        hook_register(SUBJECT_ACCESS_SECTIONS, subject_access_releases)
