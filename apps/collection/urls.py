from django.urls import path

from apps.collection import pages

app_name = "collection"
urlpatterns = [
    path("collect/<str:code>/", pages.contribute_page, name="contribute"),
    path("projects/<int:project_id>/campaigns/", pages.campaign_list_page, name="campaign-list"),
    path("campaigns/<int:campaign_id>/coverage/", pages.coverage_page, name="coverage"),
    path("campaigns/<int:campaign_id>/validate/", pages.validate_page, name="validate"),
    path("campaigns/clips/<int:clip_id>/audio", pages.clip_audio, name="clip-audio"),
]
