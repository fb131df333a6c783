from django.urls import path

from apps.consent import views

urlpatterns = [
    path("speakers/", views.SpeakerListView.as_view(), name="speaker-list"),
    path("speakers/<int:speaker_id>/", views.SpeakerDetailView.as_view(), name="speaker-detail"),
    path("speakers/<int:speaker_id>/consents/", views.SpeakerConsentsView.as_view(), name="speaker-consents"),
    path("speakers/<int:speaker_id>/withdraw/", views.SpeakerWithdrawView.as_view(), name="speaker-withdraw"),
    path("projects/<int:project_id>/purges/run/", views.ProjectPurgesRunView.as_view(), name="project-purges-run"),
    path(
        "recordings/<int:recording_id>/speech-confirm/",
        views.RecordingSpeechConfirmView.as_view(),
        name="recording-speech-confirm",
    ),
    path("speakers/<int:speaker_id>/export", views.SpeakerExportView.as_view(), name="speaker-export"),
    path("consents/<int:consent_id>/", views.ConsentDetailView.as_view(), name="consent-detail"),
    path("consents/<int:consent_id>/withdraw/", views.ConsentWithdrawView.as_view(), name="consent-withdraw"),
    path("consents/<int:consent_id>/optout-link/", views.ConsentOptoutLinkView.as_view(), name="consent-optout-link"),
    path("consent-forms/", views.ConsentFormListView.as_view(), name="consent-form-list"),
    path(
        "projects/<int:project_id>/consent-policy/",
        views.ProjectConsentPolicyView.as_view(),
        name="project-consent-policy",
    ),
    path("audit/", views.AuditListView.as_view(), name="audit-list"),
]
