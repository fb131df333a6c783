from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.accounts.models import Membership
from apps.core.permissions import Role


class MembershipOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "role", "created_at"]


class MembershipInput(serializers.Serializer):
    username = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())
    role = serializers.ChoiceField(choices=Role.choices)
