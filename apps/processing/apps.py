from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "apps.processing"
    label = "processing"

    def ready(self):
        from apps.processing.selectors import storage_owners
        from apps.core.hooks import STORAGE_OWNERS, hook_register

        hook_register(STORAGE_OWNERS, storage_owners)  # the storage sweep asks which objects are ours
