from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "apps.review"
    label = "review"

    def ready(self):
        from apps.core.hooks import RECORDING_PANELS, hook_register
        from apps.review.panels import recording_qa_panel

        hook_register(RECORDING_PANELS, recording_qa_panel)
