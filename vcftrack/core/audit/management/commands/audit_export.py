"""``manage.py audit_export --from 2026-11-01 --to 2026-11-30 [--output FILE]``:
the access audit of a period as CSV (every row, for administrators and
auditors). The export is itself written to the audit."""

from __future__ import annotations

import csv
import sys
import uuid
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from vcftrack.core.audit.selectors import export_rows, period_bounds, records_between
from vcftrack.core.audit.services import access_record_many
from vcftrack.core.audit.trail import Trail


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (use YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = "Export the access audit of a period as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        start, end = _day(options["start"]), _day(options["end"])
        if end < start:
            raise CommandError("--to is before --from.")
        since, until = period_bounds(start, end, timezone.get_current_timezone())
        records = records_between(since=since, until=until)
        trail = Trail(request_id=uuid.uuid4())
        out = open(options["output"], "w", newline="") if options["output"] else sys.stdout
        count = 0
        try:
            writer = csv.writer(out)
            for i, row in enumerate(export_rows(records.iterator(chunk_size=2000))):
                writer.writerow(row)
                if i:
                    trail.add("audit.export", [row[4] or None])
                    count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        trail.add("audit.export", [])
        access_record_many(
            trail=trail,
            entries=list(trail.entries),
            user=None,
            client="manage.py audit_export",
            outcome=200,
            ip=None,
            path=f"manage.py audit_export --from {start} --to {end}",
            now=now,
        )
        self.stderr.write(f"{count} audit rows exported ({start} to {end}).")
