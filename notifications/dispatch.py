"""Send what the outbox holds: due e-mails and webhook deliveries.

The beat runs it every minute and a commit that wrote to the outbox kicks it
at once (``notifications.outbox.kick_dispatch``). Each row is claimed by one
conditional update, so two workers never send the same row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from notifications.models import OutgoingEmail, WebhookDelivery
from notifications.outbox import claim, due_ids, send_email
from notifications.webhooks import deliver


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


def dispatch_outbox(
    *, now: datetime, limit: int = 200, clock: Callable[[], datetime] | None = None
) -> DispatchReport:
    """Send the due e-mails and webhook deliveries.

    1. List due rows (pending, or sending with an expired lease).
    2. Claim each with the conditional update; skip a row another worker has.
    3. Send it; record success, or the failure and the next attempt.
    """
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
