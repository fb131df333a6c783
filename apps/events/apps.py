from django.apps import AppConfig

from apps.core.hooks import (
    IMPORT_FINISHED,
    MODEL_READY,
    RECORDINGS_WITHDRAWN,
    RELEASE_NEEDS_REBUILD,
    RELEASE_PUBLISHED,
    hook_register,
)


class EventsConfig(AppConfig):
    name = "apps.events"
    label = "events"

    def ready(self) -> None:
        # Lower apps tell us through the hook registry (apps/core/hooks.py); each handler queues deliveries.
        # (Models load only once apps are ready.)
        from apps.events import handlers

        hook_register(RECORDINGS_WITHDRAWN, handlers.on_recordings_withdrawn)
        hook_register(RELEASE_NEEDS_REBUILD, handlers.on_release_needs_rebuild)
        hook_register(RELEASE_PUBLISHED, handlers.on_release_published)
        hook_register(IMPORT_FINISHED, handlers.on_import_finished)
        hook_register(MODEL_READY, handlers.on_model_ready)
