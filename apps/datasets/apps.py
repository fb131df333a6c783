from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "apps.datasets"
    label = "datasets"

    def ready(self):
        from apps.datasets.selectors import storage_owners
        from apps.core.hooks import STORAGE_OWNERS, hook_register

        hook_register(STORAGE_OWNERS, storage_owners)  # the storage sweep asks which objects are ours
