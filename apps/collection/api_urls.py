from django.urls import path

from apps.collection import views

urlpatterns = [
    path("projects/<int:project_id>/campaigns/", views.ProjectCampaignsView.as_view(), name="project-campaigns"),
    path("projects/<int:project_id>/listeners/", views.ProjectListenersView.as_view(), name="project-listeners"),
    path("campaigns/<int:campaign_id>/", views.CampaignDetailView.as_view(), name="campaign-detail"),
    path("campaigns/<int:campaign_id>/coverage/", views.CampaignCoverageView.as_view(), name="campaign-coverage"),
    path("campaigns/<int:campaign_id>/prompts/", views.CampaignPromptsView.as_view(), name="campaign-prompts"),
    path("campaigns/<int:campaign_id>/invites/", views.CampaignInvitesView.as_view(), name="campaign-invites"),
    path(
        "campaigns/<int:campaign_id>/contributors/<int:contributor_id>/void/",
        views.ContributorVoidView.as_view(),
        name="contributor-void",
    ),
    path("clips/<int:clip_id>/votes/", views.ClipVoteView.as_view(), name="clip-votes"),
    path("clips/<int:clip_id>/decision/", views.ClipDecisionView.as_view(), name="clip-decision"),
    path("collect/<str:code>/join/", views.ContributorJoinView.as_view(), name="contributor-join"),
    path("collect/clips/", views.ContributorClipsView.as_view(), name="contributor-clips"),
    path("collect/prompts/", views.ContributorPromptsView.as_view(), name="contributor-prompts"),
]
