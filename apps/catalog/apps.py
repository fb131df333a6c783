from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"

    def ready(self):
        # The embedded default serves through runserver, whose handler sends a response's headers and body
        # in two writes; with Nagle's algorithm on, a keep-alive client's delayed ACK then stalls every small
        # response by ~40 ms (the annotator's autosave and API calls). Only the development server reads this.
        from django.core.servers.basehttp import WSGIRequestHandler

        WSGIRequestHandler.disable_nagle_algorithm = True
