from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from apps.core import health, metrics

# Each app owns its API routes (api_urls.py) and pages (urls.py).
APPS = [
    "accounts",
    "catalog",
    "consent",
    "processing",
    "annotation",
    "review",
    "collection",
    "learning",
    "datasets",
    "events",
]

api_v1 = [path("", include(f"apps.{app}.api_urls")) for app in APPS]

urlpatterns = [
    path("admin/", admin.site.urls),
    # Probes for load balancers and orchestrators (apps/core/health.py): no sign-in, no HTTPS redirect.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),  # Prometheus; loopback or token (apps/core/metrics.py)
    # Pages that do not extend base.html (admin, API docs) make browsers ask for /favicon.ico.
    path("favicon.ico", RedirectView.as_view(url=static("earmark/favicon.svg"), permanent=True)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The one-time link a manager hands to a user they created (apps.accounts.services.user_password_link).
    path(
        "accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("api/v1/", include(api_v1)),
    # The schema and its docs describe every endpoint: signed-in users only. The split view serves Swagger UI's
    # start-up script as a file, so the page needs no inline script under the CSP.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[IsAuthenticated]),
        name="api-docs",
    ),
    *[path("", include(f"apps.{app}.urls")) for app in APPS],
]

# Unmatched URLs under /api/ answer JSON like every other API error (apps/core/middleware.py).
handler404 = "apps.core.middleware.page_not_found"
