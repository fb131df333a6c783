from django.urls import path

from apps.consent import pages

app_name = "consent"
urlpatterns = [
    path("optout/<str:token>/", pages.optout_page, name="optout"),
    path("projects/<int:project_id>/consent/", pages.consent_manage_page, name="manage"),
]
