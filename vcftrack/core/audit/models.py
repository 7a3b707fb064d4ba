"""The access audit: who read or changed which patient's data, and how it went.

One row per patient per request (a list of 50 patients writes 50 rows, in one
INSERT); a request that touched patient data but named no patient (a denied
or failed request, a form with no patient yet) writes one row with no patient.
The rows of one request share its ``request_id``.

Append-only: the app never updates or deletes a row, the admin is read-only,
and on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0002). The
patient and the user are kept as ids without foreign keys, so nothing
cascades the audit away; the actor's name is copied in as it was then.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AccessRecord(models.Model):
    at = models.DateTimeField()
    request_id = models.UUIDField()
    # No database constraint: deleting a user must neither fail nor cascade.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    # The user's name at the time (user ids are not read by people).
    actor = models.CharField(max_length=150, blank=True, default="")
    # The API client (token name and prefix) when the request used a token.
    client = models.CharField(max_length=140, blank=True, default="")
    patient_id = models.UUIDField(null=True)
    action = models.CharField(max_length=64)
    # The HTTP status the request was answered with: 2xx done, 403 / 404 denied.
    outcome = models.PositiveSmallIntegerField()
    ip = models.GenericIPAddressField(null=True)
    path = models.CharField(max_length=300)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient_id", "-at"], name="audit_by_patient"),
            models.Index(fields=["at"], name="audit_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.patient_id or '-'}"

    @property
    def denied(self) -> bool:
        return self.outcome in (401, 403, 404)
