import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def issue(self, *, user, name: str) -> tuple["ApiToken", str]:
        """Create a token; the raw value is returned once and only its hash is kept."""
        raw = "rd_" + secrets.token_urlsafe(32)
        token = self.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:10])
        return token, raw


class ApiToken(models.Model):
    """A bearer token for API callers (PL-2). Acts with its user's role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=10)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        permissions = [("manage_users", "Can manage users and tokens")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"
