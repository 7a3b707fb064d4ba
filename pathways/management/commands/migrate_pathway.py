"""Move a clinic's episodes to another pathway version, on purpose.

    python manage.py migrate_pathway --clinic north --dry-run   # print what would change
    python manage.py migrate_pathway --clinic north             # do it

An episode keeps the version it started with until someone migrates it
(pathway-spec "Version 2"); this is that someone's tool. The dry run does the
real migration inside a transaction, prints each episode's changes and rolls
everything back, so what it prints is exactly what the real run would do.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from pathways.engine import CURRENT_VERSION, RULESETS
from pathways.levels import mask_to_levels
from pathways.models import Episode, FollowUpTask
from pathways.services import episode_migrate_pathway
from patients.models import Clinic

Snapshot = dict[tuple[uuid.UUID | None, str, int], tuple[str, date, str]]


def snapshot(patient_id: uuid.UUID) -> Snapshot:
    return {
        (episode_id, rule, occurrence): (status, due, reason)
        for episode_id, rule, occurrence, status, due, reason in FollowUpTask.objects.filter(
            patient_id=patient_id
        ).values_list("episode_id", "rule", "occurrence", "status", "due_date", "reason")
    }


def describe(before: Snapshot, after: Snapshot, titles: dict[str, str]) -> list[str]:
    lines = []
    for key in sorted(after, key=lambda k: (str(k[0]), k[1], k[2])):
        episode_id, rule, occurrence = key
        status, due, reason = after[key]
        where = "programme" if episode_id is None else "episode"
        name = titles.get(rule, rule) + (f" #{occurrence}" if occurrence > 1 else "")
        if key not in before:
            lines.append(f"    + {where}: {name} ({status}, due {due})")
        elif before[key][0] != status:
            why = f": {reason}" if reason else ""
            lines.append(f"    ~ {where}: {name} {before[key][0]} -> {status}{why}")
    return lines


class Command(BaseCommand):
    help = "Move a clinic's episodes to another pathway version (--dry-run prints the changes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", required=True, help="the clinic's code")
        parser.add_argument(
            "--to", default=CURRENT_VERSION, help=f"target version (default {CURRENT_VERSION})"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would change; write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        version = options["to"]
        if version not in RULESETS:
            raise CommandError(f"Unknown pathway version {version!r}: one of {sorted(RULESETS)}.")
        clinic = Clinic.objects.filter(code=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with the code {options['clinic']!r}.")
        titles = {r.code: r.title for rs in RULESETS.values() for r in rs.rules}
        episodes = list(
            Episode.objects.alive()
            .filter(clinic=clinic)
            .exclude(pathway_version=version)
            .select_related("patient", "clinic")
            .order_by("patient__family_name", "patient_id", "identified_date")
        )
        dry = options["dry_run"]
        verb = "would move" if dry else "moving"
        self.stdout.write(f"{clinic.name}: {verb} {len(episodes)} episode(s) to {version}")
        with transaction.atomic():
            for episode in episodes:
                before = snapshot(episode.patient_id)
                episode_migrate_pathway(episode=episode, version=version, now=now)
                after = snapshot(episode.patient_id)
                patient = episode.patient
                self.stdout.write(
                    f"  {patient.family_name}, {patient.given_name} ({patient.mrn}): "
                    f"{'/'.join(mask_to_levels(episode.levels_mask))} fracture identified "
                    f"{episode.identified_date}, {episode.pathway_version} -> {version}"
                )
                lines = describe(before, after, titles) or ["    no task changes"]
                self.stdout.write("\n".join(lines))
            if dry:
                transaction.set_rollback(True)
        self.stdout.write("dry run: nothing was written" if dry else "done")
