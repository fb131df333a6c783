from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

# Each app owns its API routes (api_urls.py) and pages (urls.py).
APPS = ["accounts", "catalog", "consent", "processing", "annotation", "review", "learning", "datasets", "events"]

api_v1 = [path("", include(f"apps.{app}.api_urls")) for app in APPS]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    *[path("", include(f"apps.{app}.urls")) for app in APPS if app != "accounts"],
]
