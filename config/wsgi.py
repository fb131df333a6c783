import os

from django.core.wsgi import get_wsgi_application
from django.urls import reverse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()
# Import every URL module, view and serializer now rather than in the first request that reaches each of them: a
# first reverse() builds the whole URL table (under gunicorn this runs once, in the master, before the workers
# fork: config/gunicorn_conf.py preload_app). It connects to nothing (tests/test_wsgi.py).
reverse("healthz")
