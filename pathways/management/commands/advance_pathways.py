"""Run the pathway sweep synchronously and print what it did."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


class Command(BaseCommand):
    help = (
        "Evaluate every episode whose next review has come (the same sweep as the "
        "Celery beat job). --as-of replays a date, e.g. to see a panel a year ahead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", help="evaluate as of this date (YYYY-MM-DD)")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.PATHWAY_SWEEP_BATCH_SIZE,
            help="episodes claimed per transaction",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from pathways.services import pathway_sweep

        as_of = None
        if options["as_of"]:
            try:
                as_of = date.fromisoformat(options["as_of"])
            except ValueError as exc:
                raise CommandError("--as-of must be a date in the form YYYY-MM-DD") from exc
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        now = timezone.now()
        report = pathway_sweep(now=now, as_of=as_of, batch_size=options["batch_size"])
        label = as_of.isoformat() if as_of else "today"
        self.stdout.write(f"pathway sweep as of {label}: {report.summary()}")
        if report.failed_ids:
            self.stderr.write(
                f"{len(report.failed_ids)} episode(s) failed and were pushed back an hour: "
                + ", ".join(str(i) for i in report.failed_ids[:20])
            )
