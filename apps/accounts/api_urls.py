from django.urls import path

from apps.accounts import views

urlpatterns = [
    path("projects/<int:project_id>/members/", views.ProjectMembersView.as_view(), name="project-members"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/tokens/", views.TokenListView.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:token_id>/", views.TokenDetailView.as_view(), name="auth-token-detail"),
]
