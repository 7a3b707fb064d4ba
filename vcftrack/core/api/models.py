"""API clients' tokens and the replay store behind ``Idempotency-Key``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        """Not revoked (an expired token is still listed as such, and refused)."""
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A per-client credential. Only a SHA-256 of the key is stored.

    The key is ``vcf_<prefix>_<secret>``: the prefix finds the row, the hash
    of the whole key is compared in constant time. The secret has 256 bits of
    entropy, so a fast hash is enough (nothing to brute-force).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="Which client uses it (e.g. 'EHR bridge').")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A token stops working at this time (API_TOKEN_LIFETIME_DAYS after it
    # was issued, 90 days by default); the client is given a new one.
    expires_at = models.DateTimeField()

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else f"expires {self.expires_at:%Y-%m-%d}"
        return f"{self.name} ({self.user}, vcf_{self.prefix}_…, {state})"


class IdempotencyRecord(models.Model):
    """The first successful answer to a POST with an ``Idempotency-Key``.

    Unique per user and key: two concurrent requests with one key serialise
    on the unique index, and the loser replays the winner's answer.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # sha256 of method, path and the canonical JSON of the body.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key"),
            models.CheckConstraint(
                condition=Q(status_code=0) | Q(status_code__gte=200, status_code__lt=300),
                name="idempotency_only_success",
            ),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} -> {self.status_code}"
