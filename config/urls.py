from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

# Each app owns its API routes (api_urls.py) and pages (urls.py).
APPS = ["accounts", "catalog", "consent", "processing", "annotation", "review", "datasets", "events"]

api_v1 = [path("", include(f"apps.{app}.api_urls")) for app in APPS]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include(api_v1)),
    # The schema and its docs describe every endpoint: signed-in users only. The split view serves Swagger UI's
    # start-up script as a file, so the page needs no inline script under the CSP.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[IsAuthenticated]),
         name="api-docs"),
    *[path("", include(f"apps.{app}.urls")) for app in APPS],
]
