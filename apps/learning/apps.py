from django.apps import AppConfig

from apps.core.hooks import QUEUE_ORDER, RECORDINGS_WITHDRAWN, hook_register


class LearningConfig(AppConfig):
    name = "apps.learning"
    label = "learning"

    def ready(self):
        # Same-app imports here: services import models, which load only once apps are ready.
        from apps.learning.services.consent import models_on_withdrawal
        from apps.learning.services.queue import queue_order_for

        hook_register(RECORDINGS_WITHDRAWN, models_on_withdrawal)
        hook_register(QUEUE_ORDER, queue_order_for)
