from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.accounts.models import ApiToken, Membership
from apps.core.permissions import Role


class MembershipOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "role", "created_at"]


class MembershipInput(serializers.Serializer):
    username = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())
    role = serializers.ChoiceField(choices=Role.choices)


class CredentialsInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    days = serializers.IntegerField(required=False, min_value=1, help_text="Lifetime; default EARMARK_TOKEN_DAYS.")


class TokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    days = serializers.IntegerField(required=False, min_value=1, help_text="Lifetime; default EARMARK_TOKEN_DAYS.")


class TokenOutput(serializers.ModelSerializer):
    expired = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created", "expires_at", "last_used_at", "expired"]

    def get_expired(self, token) -> bool:
        from django.utils import timezone

        return token.expires_at <= timezone.now()


class TokenCreatedOutput(TokenOutput):
    """The one answer that carries the key."""

    token = serializers.CharField(source="key", read_only=True)

    class Meta(TokenOutput.Meta):
        fields = ["token", *TokenOutput.Meta.fields]
