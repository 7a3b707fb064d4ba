"""Fill the dashboard's stored cohort facts, or check them against a full recomputation."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Write the dashboard's missing cohort-facts rows (in batches, idempotent; the "
        "migration runs it for an existing panel). --check compares every stored row "
        "with a full recomputation and fails if one differs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="compare the rows with a full recomputation"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from pathways.dashboard.facts_table import fill_missing_rows, stale_rows

        if options["check"]:
            stale = stale_rows()
            if stale:
                raise CommandError(
                    f"{len(stale)} cohort-facts rows differ from a full recomputation "
                    f"(first: episode {stale[0][0]})."
                )
            self.stdout.write("The cohort-facts rows equal a full recomputation.")
            return
        written = fill_missing_rows()
        if options["verbosity"]:
            self.stdout.write(f"Wrote {written} cohort-facts rows.")
