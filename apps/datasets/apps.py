from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "apps.datasets"
    label = "datasets"

    def ready(self):
        from apps.core.hooks import RECORDING_PANELS, hook_register
        from apps.datasets.panels import recording_releases_panel

        hook_register(RECORDING_PANELS, recording_releases_panel)
