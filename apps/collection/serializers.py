"""Request and response shapes of the collection API (shape only; services hold the rules)."""

from rest_framework import serializers

from apps.collection.models import Campaign, Clip, InviteCode, Prompt


class CampaignCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    consent_text = serializers.CharField()
    purposes_asked = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    purposes_required = serializers.ListField(child=serializers.CharField(), required=False, default=["store"])
    description = serializers.CharField(required=False, allow_blank=True, default="")
    ui_language = serializers.CharField(required=False, default="en", max_length=16)
    public_link = serializers.BooleanField(required=False, default=True)
    public_max_contributors = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
    opens_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    closes_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    clips_per_prompt = serializers.IntegerField(required=False, min_value=1, default=5)
    clips_per_contributor = serializers.IntegerField(required=False, min_value=1, default=100)
    targets = serializers.JSONField(required=False, default=dict)
    votes_needed = serializers.IntegerField(required=False, min_value=1, max_value=20, default=2)
    link_joins_per_hour = serializers.IntegerField(required=False, min_value=1, default=60)
    contributor_clips_per_minute = serializers.IntegerField(required=False, min_value=1, default=20)
    max_clip_seconds = serializers.FloatField(required=False, min_value=1, max_value=120, default=20.0)


class CampaignOutput(serializers.ModelSerializer):
    form_version = serializers.IntegerField(source="consent_form.version")
    public_path = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "project",
            "name",
            "description",
            "purposes_asked",
            "purposes_required",
            "ui_language",
            "opens_at",
            "closes_at",
            "public_path",
            "public_max_contributors",
            "clips_per_prompt",
            "clips_per_contributor",
            "targets",
            "votes_needed",
            "link_joins_per_hour",
            "contributor_clips_per_minute",
            "max_clip_seconds",
            "form_version",
            "created_at",
        ]

    def get_public_path(self, obj) -> str | None:
        return f"/collect/{obj.public_token}/" if obj.public_token else None


class PromptsImportInput(serializers.Serializer):
    language = serializers.CharField(max_length=35)
    content = serializers.CharField(required=False, allow_blank=True, default="")
    file = serializers.FileField(required=False)


class PromptOutput(serializers.ModelSerializer):
    language = serializers.CharField(source="language.tag")

    class Meta:
        model = Prompt
        fields = ["id", "key", "language", "text", "tags"]


class InvitesInput(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    max_contributors = serializers.IntegerField(min_value=1, default=1)


class InviteOutput(serializers.ModelSerializer):
    path = serializers.SerializerMethodField()

    class Meta:
        model = InviteCode
        fields = ["id", "code", "max_contributors", "revoked", "path"]

    def get_path(self, obj) -> str:
        return f"/collect/{obj.code}/"


class VoidInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class VoteInput(serializers.Serializer):
    matches = serializers.BooleanField()


class ListenerInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class ClipOutput(serializers.ModelSerializer):
    prompt = serializers.CharField(source="prompt.key")

    class Meta:
        model = Clip
        fields = ["id", "prompt", "recording", "state", "up_votes", "down_votes", "created_at"]


class JoinInput(serializers.Serializer):
    purposes = serializers.ListField(child=serializers.CharField(), allow_empty=True)
    language = serializers.CharField(required=False, allow_blank=True, default="", max_length=35)
    age_band = serializers.CharField(required=False, allow_blank=True, default="")
    gender = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    accent = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class ClipUploadInput(serializers.Serializer):
    prompt = serializers.CharField(max_length=100)
    upload_key = serializers.CharField(max_length=64)
    audio = serializers.FileField()
