from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "apps.review"
    label = "review"

    def ready(self):
        from apps.core.hooks import RECORDING_IN_WORK, hook_register
        from apps.review.selectors import recording_in_reviewer_work

        hook_register(RECORDING_IN_WORK, recording_in_reviewer_work)
