"""Build a realistic synthetic demo panel (idempotent per --seed)."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone
from tqdm import tqdm

from pathways.demo import DEMO_PASSWORD, build_panel, ensure_clinics, ensure_staff, save_rows
from pathways.engine import CURRENT_VERSION
from pathways.models import Episode, FollowUpTask
from pathways.services import episode_close, pathway_sweep, task_complete, task_not_applicable
from pathways.services.evaluation import midnight
from patients.models import Patient
from vcftrack.core.errors import DomainError

# Outcomes a clinic records on the person-closed rules, for a lived-in demo.
DECISIONS = {
    "augmentation_review_3m": ["continue_conservative", "resolved", "offer_augmentation"],
    "augmentation_consider_early": ["continue_conservative", "offer_augmentation"],
    "red_flag_screen": ["clear", "clear", "clear", "red_flags_found"],
    "surgical_consult_urgent": ["surgery_not_indicated", "surgery_planned", "surgery_done"],
    "surgical_consult": ["surgery_not_indicated", "surgery_done"],
    "augmentation_reconsider": ["continue_conservative", "offer_augmentation"],
    "nerve_root_block_consider": ["block_planned", "not_indicated"],
}


PERSON_TASKS = frozenset(
    {
        "mobilisation",
        "falls_prevention",
        "opioid_review",
        "renal_function",
        "new_fracture_screen_12m",
        "new_fracture_screen",
        "treatment_failure_review",
        "bisphosphonate_duration_review",
        "oncology_mdt",
        "malignancy_workup",
    }
)


class Command(BaseCommand):
    help = "Seed a demo panel: clinics, staff (password printed), patients, episodes, facts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=300)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--clinics", type=int, default=3)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if patients already exist"
        )
        parser.add_argument(
            "--grow-to",
            type=int,
            metavar="N",
            help="add patients (with the next unused --seed) until the panel has N; "
            "dev.py seeds a small panel first and grows it while the server runs",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["patients"]
        if options["grow_to"] is not None:
            count = options["grow_to"] - Patient.objects.count()
            if count < 1:
                self.stdout.write(f"demo panel has {options['grow_to']} patients or more")
                return
            options["seed"] = next(
                s
                for s in range(options["seed"], options["seed"] + 1000)
                if not Patient.objects.filter(mrn__startswith=f"S{s}-").exists()
            )
        if count < 1 or count > 1_000_000:
            raise CommandError("--patients must be between 1 and 1,000,000")
        if options["if_empty"] and Patient.objects.exists():
            self.stdout.write("demo panel already present; nothing to do")
            return
        rng = random.Random(options["seed"])
        now = timezone.now()
        clinics = ensure_clinics(max(1, min(options["clinics"], 10)))
        users = ensure_staff(clinics)
        today = clinics[0].today(now)
        prefix = f"S{options['seed']}-"
        if Patient.objects.filter(mrn__startswith=prefix).exists():
            raise CommandError(
                f"a demo panel with --seed {options['seed']} exists; use another seed"
            )
        rows = build_panel(
            clinics=clinics,
            patients=count,
            today=today,
            now=now,
            rng=rng,
            mrn_prefix=prefix,
            pathway_version=CURRENT_VERSION,
        )
        for ep in rows.episodes:
            # Replayed from the day it was identified.
            ep.next_review_at = midnight(ep.identified_date, clinics[0].tzinfo)
        for prog in rows.programmes:
            # Replayed from the day it started; an imported record only today.
            prog.next_review_at = midnight(prog.started_on, clinics[0].tzinfo)
        total = sum(len(r) for r in rows.all())
        with tqdm(total=total, desc="inserting", unit="row", disable=count < 2000) as bar:
            save_rows(rows, now=now, progress=bar.update)
        # Replay the panel's history a week at a time, so phases move through
        # their transitions as they would have in a running clinic, and staff
        # act on what falls due (most of it on time, some late, some never).
        start = min(ep.identified_date for ep in rows.episodes)
        steps = list(range(0, (today - start).days, 7))
        decided = 0
        tz = clinics[0].tzinfo
        for offset in tqdm(steps, desc="replaying", unit="week", disable=count < 2000):
            day = start + timedelta(days=offset)
            pathway_sweep(now=now, as_of=day, batch_size=500)
            at = datetime.combine(day, time(12), tzinfo=tz)
            decided += self._decide(rng, users, day, at, prefix)
        pathway_sweep(now=now, as_of=today, batch_size=500)
        closed = 0
        for episode in Episode.objects.active().filter(
            id__in=[e.id for e in rows.episodes], identified_date__lt=today - timedelta(days=500)
        ):
            if rng.random() < 0.08:
                episode_close(
                    episode=episode, reason="discharged", now=now, actor_id=users["admin"].pk
                )
                closed += 1
        report = pathway_sweep(now=now, batch_size=500)
        self.stdout.write(
            f"demo panel: {count} patients, {len(rows.episodes)} episodes "
            f"in {len(clinics)} clinics; "
            f"{decided} tasks closed by staff, {closed} episodes discharged; {report.summary()}"
        )
        self.stdout.write(
            "sign in as admin, or coordinator-north / physician-north / viewer-north "
            f"(also -south, -east), password: {DEMO_PASSWORD}"
        )

    def _decide(
        self, rng: random.Random, users: dict[str, Any], day: Any, at: Any, prefix: str
    ) -> int:
        """Staff work this panel's tasks due by ``day``, as of that day (``at``)."""
        decided = 0
        tasks = (
            FollowUpTask.objects.open()
            .filter(due_date__lte=day, patient__mrn__startswith=prefix)
            .filter(Q(episode__isnull=True) | Q(episode__identified_date__lte=day))
            .select_related("clinic")
        )
        for task in tasks:
            # A task just due is usually worked within the week; an overdue
            # one has a lower chance each week.
            fresh = (day - task.due_date).days <= 7
            if rng.random() > (0.8 if fresh else 0.25):
                continue
            clinic = task.clinic
            physician = users[f"physician-{clinic.code}"]
            coordinator = users[f"coordinator-{clinic.code}"]
            try:
                if task.rule in DECISIONS:
                    outcome = rng.choice(DECISIONS[task.rule])
                    task_complete(task=task, actor=physician, outcome=outcome, note="demo", now=at)
                elif task.rule in PERSON_TASKS:
                    task_complete(task=task, actor=coordinator, outcome="", note="demo", now=at)
                elif rng.random() < 0.1:
                    task_not_applicable(
                        task=task, actor=coordinator, reason="patient declined", now=at
                    )
                else:
                    continue
            except DomainError:
                continue  # an earlier decision's re-evaluation already closed it
            decided += 1
        return decided
