from django.apps import AppConfig

from apps.core.hooks import STORAGE_OWNERS, hook_register


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"

    def ready(self):
        # Same-app import here: selectors import models, which load only once apps are ready.
        from apps.catalog.selectors import storage_owners

        hook_register(STORAGE_OWNERS, storage_owners)  # the storage sweep asks which objects are ours
        # Django's development server (`manage.py runserver`, the browser tests' live server; `make run` uses
        # gunicorn) sends a response's headers and body in two writes; with Nagle's algorithm on, a keep-alive
        # client's delayed ACK then stalls every small response by ~40 ms. Only the development server reads this.
        from django.core.servers.basehttp import WSGIRequestHandler

        WSGIRequestHandler.disable_nagle_algorithm = True
