"""Campaign rows change through apps.collection.services (consent, ingest and audit go with them): look only."""

from django.contrib import admin

from apps.collection.models import Campaign, Clip, Contributor, InviteCode, Listener, Prompt, Vote
from apps.core.admin import ReadOnlyAdmin


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["id", "project", "name", "ui_language", "opens_at", "closes_at", "votes_needed"]
    exclude = ["public_token"]


@admin.register(Prompt)
class PromptAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "key", "language", "text"]


@admin.register(InviteCode)
class InviteCodeAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "max_contributors", "revoked", "created_at"]
    exclude = ["code"]


@admin.register(Contributor)
class ContributorAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "speaker", "invite", "voided_at", "created_at"]
    exclude = ["secret_sha256"]


@admin.register(Clip)
class ClipAdmin(ReadOnlyAdmin):
    list_display = ["id", "contributor", "prompt", "recording", "state", "up_votes", "down_votes", "created_at"]


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["id", "clip", "voter", "matches", "created_at"]


@admin.register(Listener)
class ListenerAdmin(ReadOnlyAdmin):
    list_display = ["id", "project", "user", "admitted_by", "created_at"]
