from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "apps.consent"
    label = "consent"

    def ready(self):
        from apps.consent.selectors import storage_owners
        from apps.core.hooks import STORAGE_OWNERS, hook_register

        hook_register(STORAGE_OWNERS, storage_owners)  # the storage sweep asks which objects are ours
