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
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F, Q

from notifications.models import OutboxRow, OutboxStatus, OutgoingEmail

logger = logging.getLogger(__name__)
# An e-mail that fails this often (5, 10, 15 ... minutes apart: about 4 hours)
# is marked failed and left in the admin with its error.
EMAIL_MAX_ATTEMPTS = 10


# How to ask a worker to dispatch: the Celery task, set by the app's ready()
# (``notifications.apps``), so this module does not import its own caller.
_enqueue: Callable[[], Any] | None = None


def use_enqueue(enqueue: Callable[[], Any]) -> None:
    """Set how ``kick_dispatch`` asks a worker to send the outbox."""
    global _enqueue
    _enqueue = enqueue


def _kick() -> None:
    if _enqueue is None:  # not wired (a script without the app registry)
        return
    try:
        _enqueue()
    except Exception:  # the beat's periodic dispatch sends it anyway
        logger.warning("could not enqueue the outbox dispatch; beat will send it", exc_info=True)


def kick_dispatch() -> None:
    """Ask a worker to send the outbox as soon as the current transaction commits (once)."""
    if any(entry[1] is _kick for entry in connection.run_on_commit):
        return
    transaction.on_commit(_kick)


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
