from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "apps.processing"
    label = "processing"

    def ready(self):
        from apps.core.hooks import RECORDING_PANELS, hook_register
        from apps.processing.panels import recording_jobs_panel

        hook_register(RECORDING_PANELS, recording_jobs_panel)
