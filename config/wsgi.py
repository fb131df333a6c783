import os

from django.core.files.storage import storages
from django.core.wsgi import get_wsgi_application
from django.urls import reverse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()
# Import every URL module, view and serializer, and the storage backend (boto3 on S3), now rather than in the first
# request that needs each: a first reverse() builds the whole URL table. Under gunicorn this runs once, in the
# master, before the workers fork (config/gunicorn_conf.py preload_app). It connects to nothing
# (tests/test_production.py).
reverse("healthz")
storages["default"]
