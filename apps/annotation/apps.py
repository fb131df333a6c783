from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "apps.annotation"
    label = "annotation"

    def ready(self):
        from apps.core.hooks import RECORDING_PANELS, hook_register
        from apps.annotation.panels import recording_annotations_panel

        hook_register(RECORDING_PANELS, recording_annotations_panel)
