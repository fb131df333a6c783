import hashlib

from django.conf import settings
from django.db import models

from apps.core.permissions import Role


class Membership(models.Model):
    """A user's role in one project."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="one_role_per_project")]

    def __str__(self):
        return f"{self.user} is {self.role} of {self.project_id}"


class ApiToken(models.Model):
    """An API key of one user (issue 13): it expires, and its owner can list and revoke it.

    Only a SHA-256 of the key is stored (like a password hash: a database copy cannot be replayed); the key
    itself is shown once, on creation. ``prefix`` (its first characters) lets people tell keys apart.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What the owner uses it for.")
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.prefix}… of {self.user_id}"


def token_hash(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
