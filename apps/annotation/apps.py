from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "apps.annotation"
    label = "annotation"

    def ready(self):
        from apps.annotation.selectors import recording_in_annotator_work
        from apps.core.hooks import RECORDING_IN_WORK, hook_register

        hook_register(RECORDING_IN_WORK, recording_in_annotator_work)
