from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "apps.processing"
    label = "processing"

    def ready(self):
        from apps.core.hooks import RECORDINGS_RELEASED, SUBJECT_ACCESS_SECTIONS, hook_register
        from apps.processing.hooks import recordings_released_queue, subject_access_derived

        hook_register(RECORDINGS_RELEASED, recordings_released_queue)
        hook_register(SUBJECT_ACCESS_SECTIONS, subject_access_derived)
