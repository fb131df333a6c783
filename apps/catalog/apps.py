from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"

    def ready(self):
        # Django's development server (`manage.py runserver`, the browser tests' live server; `make run` uses
        # gunicorn) sends a response's headers and body in two writes; with Nagle's algorithm on, a keep-alive
        # client's delayed ACK then stalls every small response by ~40 ms. Only the development server reads this.
        from django.core.servers.basehttp import WSGIRequestHandler

        WSGIRequestHandler.disable_nagle_algorithm = True
