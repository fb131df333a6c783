from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "apps.processing"
    label = "processing"
