from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "apps.processing"
    label = "processing"

    def ready(self):
        from apps.core.hooks import RECORDINGS_RELEASED, hook_register
        from apps.processing.hooks import recordings_released_queue

        hook_register(RECORDINGS_RELEASED, recordings_released_queue)
