"""Send what the outbox holds: e-mails and webhook deliveries, after commit.

Rows are written in the transaction of the change that caused them (so a
crash before the send loses nothing) and claimed one by one with a
conditional update (so two workers never both send a row):

    UPDATE ... SET status='sending', lease_until=now+lease, attempts=attempts+1
    WHERE id=? AND (status='pending' OR (status='sending' AND lease_until<now))
      AND next_attempt_at <= now

Only the worker whose update returned 1 sends. If it dies after the claim,
the row is claimed again when the lease ends: a receiver may then see the same
delivery id (or e-mail Message-ID) twice, and de-duplicates on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F, Q

from notifications.models import OutboxRow, OutboxStatus, OutgoingEmail, WebhookDelivery

logger = logging.getLogger(__name__)
# An e-mail that fails this often (5, 10, 15 ... minutes apart: about 4 hours)
# is marked failed and left in the admin with its error.
EMAIL_MAX_ATTEMPTS = 10


def _kick() -> None:
    from notifications.tasks import dispatch_outbox_task

    try:
        dispatch_outbox_task.apply_async(retry=False)
    except Exception:  # the beat's periodic dispatch sends it anyway
        logger.warning("could not enqueue the outbox dispatch; beat will send it", exc_info=True)


def kick_dispatch() -> None:
    """Ask a worker to send the outbox as soon as the current transaction commits (once)."""
    if any(entry[1] is _kick for entry in connection.run_on_commit):
        return
    transaction.on_commit(_kick)


@dataclass
class DispatchReport:
    emails_sent: int = 0
    deliveries_sent: int = 0
    deliveries_failed: int = 0

    def summary(self) -> str:
        return (
            f"{self.emails_sent} e-mail(s) sent, {self.deliveries_sent} webhook(s) delivered, "
            f"{self.deliveries_failed} webhook attempt(s) failed"
        )


def _due(model: type[OutboxRow], now: datetime) -> Q:
    return Q(next_attempt_at__lte=now) & (
        Q(status=OutboxStatus.PENDING) | Q(status=OutboxStatus.SENDING, lease_until__lt=now)
    )


def claim(model: type[OutboxRow], pk: Any, *, now: datetime) -> bool:
    """The conditional update: True for exactly one claimant of a due row."""
    lease = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        updated = model._default_manager.filter(_due(model, now), pk=pk).update(
            status=OutboxStatus.SENDING, lease_until=lease, attempts=F("attempts") + 1
        )
    return updated == 1


def due_ids(model: type[OutboxRow], *, now: datetime, limit: int) -> list[Any]:
    return list(
        model._default_manager.filter(_due(model, now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def dispatch_outbox(
    *, now: datetime, limit: int = 200, clock: Callable[[], datetime] | None = None
) -> DispatchReport:
    """Send the due e-mails and webhook deliveries.

    1. List due rows (pending, or sending with an expired lease).
    2. Claim each with the conditional update; skip a row another worker has.
    3. Send it; record success, or the failure and the next attempt.
    """
    from notifications.webhooks import deliver

    report = DispatchReport()
    for pk in due_ids(OutgoingEmail, now=now, limit=limit):
        if claim(OutgoingEmail, pk, now=now):
            report.emails_sent += send_email(pk=pk, now=now)
    for pk in due_ids(WebhookDelivery, now=now, limit=limit):
        if claim(WebhookDelivery, pk, now=now):
            if deliver(delivery_id=pk, now=now, clock=clock):
                report.deliveries_sent += 1
            else:
                report.deliveries_failed += 1
    return report


def send_email(*, pk: Any, now: datetime) -> int:
    email = OutgoingEmail.objects.get(pk=pk)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        # A stable Message-ID: a resend after a crash is recognisably the same mail.
        headers={"Message-ID": f"<{email.pk}@vcftrack>"},
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    try:
        message.send()
    except Exception as exc:  # SMTP down: try again later, keep the error
        give_up = email.attempts >= EMAIL_MAX_ATTEMPTS
        OutgoingEmail.objects.filter(pk=pk).update(
            status=OutboxStatus.FAILED if give_up else OutboxStatus.PENDING,
            lease_until=None,
            next_attempt_at=now + timedelta(minutes=5 * email.attempts),
            last_error=str(exc)[:500],
        )
        logger.warning("e-mail %s not sent: %s", pk, exc)
        return 0
    OutgoingEmail.objects.filter(pk=pk).update(
        status=OutboxStatus.SENT, sent_at=now, lease_until=None, last_error=""
    )
    return 1
