"""Compact the dashboard's logs of open tasks and phases, rebuild them, or check them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


class Command(BaseCommand):
    help = (
        "Sum the dashboard's logs of open tasks per rule and active episodes per phase "
        "(beat does it every few minutes). --rebuild recomputes them from the tables; "
        "--check compares them with a count over the tables and fails if one differs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--check", action="store_true", help="compare with a full count")
        group.add_argument("--rebuild", action="store_true", help="recompute from the tables")

    def handle(self, *args: Any, **options: Any) -> None:
        from pathways.dashboard.counts import compact, differences, rebuild

        now = timezone.now()
        if options["check"]:
            found = differences(now)
            if found:
                raise CommandError("The dashboard's counts differ: " + "; ".join(found))
            self.stdout.write("The dashboard's counts equal a count over the tables.")
            return
        if options["rebuild"]:
            rebuild(now)
            self.stdout.write("Rebuilt the dashboard's counts.")
            return
        done = compact(now)
        self.stdout.write(
            "Compacted the dashboard's counts."
            if done
            else "Another compaction is running; nothing done."
        )
