"""A realistic synthetic panel: clinics, staff, patients, episodes and facts.

Rows are inserted in bulk (stamped like any write) with ``next_review_at``
set, then the real sweep evaluates them, so the demo's tasks and phases come
from the same engine as production. Used by ``seed_demo`` and the benchmarks.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from pathways.levels import LEVELS, levels_to_mask
from pathways.models import Episode, Imaging, Observation, Procedure, Programme
from patients.models import BoneDensity, Clinic, Medication, Membership, Patient
from patients.sync import allocate_change_seq
from vcftrack.core.scoping import Role

GIVEN = (
    "Ada Agnes Alice Anna Beatrice Carmen Clara Dolores Edith Elena Elsa Emma Erika Eva Frieda "
    "Gertrude Greta Hanna Helga Ines Irene Johanna Judith Karin Lena Lucia Margarethe Maria "
    "Marta Mia Nora Olga Paula Rosa Ruth Sara Sofia Teresa Ursula Vera Walter Hans Peter Josef "
    "Karl Ludwig Otto Paul Franz Georg Heinrich"
).split()
FAMILY = (
    "Abbott Bauer Becker Brandt Castillo Costa Dietrich Engel Fischer Fuchs Garcia Graf Hahn "
    "Hartmann Hoffmann Huber Jung Kaiser Keller Klein Koch Kraus Lang Lehmann Lorenz Maier "
    "Meyer Moreno Neumann Novak Ortiz Peters Richter Romero Roth Santos Schmid Schneider "
    "Schulz Silva Sommer Stein Vogel Wagner Weber Werner Wolf Zimmermann"
).split()
CLINICS = (
    ("north", "North Spine & Bone Clinic", "Europe/Berlin"),
    ("south", "South Fracture Liaison Service", "Europe/Berlin"),
    ("east", "East Osteoporosis Centre", "Europe/London"),
)
DEMO_PASSWORD = "vcftrack-demo"  # noqa: S105 - documented demo credential


@dataclass
class Rows:
    patients: list[Patient] = field(default_factory=list)
    programmes: list[Programme] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    imaging: list[Imaging] = field(default_factory=list)
    procedures: list[Procedure] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    dxa: list[BoneDensity] = field(default_factory=list)

    def all(self) -> Iterator[list[Any]]:
        yield self.patients
        yield self.programmes
        yield self.episodes
        yield self.observations
        yield self.imaging
        yield self.procedures
        yield self.medications
        yield self.dxa


def ensure_clinics(count: int = 3) -> list[Clinic]:
    out = []
    for i in range(count):
        code, name, tz = CLINICS[i] if i < len(CLINICS) else (f"c{i}", f"Clinic {i}", "UTC")
        clinic, _ = Clinic.objects.get_or_create(code=code, defaults={"name": name, "timezone": tz})
        out.append(clinic)
    return out


def ensure_staff(clinics: list[Clinic]) -> dict[str, Any]:
    """Demo users: admin, and per clinic a coordinator, a physician and a viewer."""
    user_model = get_user_model()
    users: dict[str, Any] = {}
    # One hash for all the demo users (a password hash costs ~0.4 s by design).
    hashed = make_password(DEMO_PASSWORD)
    admin, _ = user_model.objects.get_or_create(
        username="admin",
        defaults={
            "is_staff": True,
            "is_superuser": True,
            "email": "admin@example.org",
            "password": hashed,
        },
    )
    users["admin"] = admin
    for clinic in clinics:
        for role, first in (
            (Role.COORDINATOR, "Cora"),
            (Role.PHYSICIAN, "Dr. Phil"),
            (Role.VIEWER, "Vic"),
        ):
            username = f"{role}-{clinic.code}"
            user, _ = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": clinic.code.capitalize(),
                    "email": f"{username}@example.org",
                    "password": hashed,
                },
            )
            Membership.objects.get_or_create(
                user=user,
                clinic=clinic,
                defaults={"role": role, "lead": role == Role.COORDINATOR},
            )
            users[username] = user
    return users


def _levels(rng: random.Random) -> list[str]:
    # Most osteoporotic fractures are at the thoracolumbar junction.
    weights = [1 if lv.startswith("T") and int(lv[1:]) < 6 else 3 for lv in LEVELS]
    for hot in ("T12", "L1", "T11", "L2"):
        weights[LEVELS.index(hot)] = 12
    first = rng.choices(range(len(LEVELS)), weights)[0]
    levels = [LEVELS[first]]
    if rng.random() < 0.2 and first + 1 < len(LEVELS):
        levels.append(LEVELS[first + 1])
    return levels


def build_panel(  # noqa: C901 - a long scripted scenario, split in a later change
    *,
    clinics: list[Clinic],
    patients: int,
    today: date,
    now: datetime,
    rng: random.Random,
    max_age_days: int = 900,
    mrn_prefix: str = "D",
    pathway_version: str = "v1",
) -> Rows:
    """Unsaved rows for a panel; every episode is due for evaluation (version 0).

    With ``pathway_version="v2"`` every patient has a bone-health programme,
    and the panel has the patients version 2 is about: several fractures
    years apart, fractures on treatment, imported records with old
    unverified prescriptions, and a few deceased patients.
    """
    rows = Rows()
    v2 = pathway_version == "v2"
    for n in range(patients):
        clinic = clinics[n % len(clinics)]
        sex = "female" if rng.random() < 0.8 else "male"
        patient = Patient(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            clinic=clinic,
            mrn=f"{mrn_prefix}{n:07d}",
            given_name=rng.choice(GIVEN),
            family_name=rng.choice(FAMILY),
            birth_date=today - timedelta(days=rng.randint(55 * 365, 92 * 365)),
            sex=sex,
            recorded_on=today,
        )
        rows.patients.append(patient)
        kind = rng.random()
        imported = v2 and kind < 0.04
        if v2 and 0.04 <= kind < 0.08:
            # Three fractures years apart: one programme, never three series.
            ages = [rng.randint(700, max(701, max_age_days)), rng.randint(250, 500),
                    rng.randint(0, 60)]  # fmt: skip
        elif imported:
            # An old record imported today (pathway-spec V2.4).
            ages = [rng.randint(3 * 365, 9 * 365)]
        else:
            ages = [rng.randint(0, max_age_days)]
            if rng.random() < 0.06:
                ages.append(rng.randint(0, 120))
        programme = None
        if v2:
            programme = Programme(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                patient=patient,
                clinic=clinic,
                rule_set="v2",
                started_on=today if imported else today - timedelta(days=max(ages)),
            )
            rows.programmes.append(programme)
            if rng.random() < 0.01:
                patient.deceased_date = today - timedelta(days=rng.randint(1, 60))
        for age in ages:
            _episode(rows, patient, clinic, today - timedelta(days=age), today, rng)
            episode = rows.episodes[-1]
            if programme is not None:
                episode.programme = programme
                episode.pathway_version = pathway_version
            if imported:
                episode.recorded_on = today
        if imported:
            # A prescription from years ago with no later evidence: unverified.
            start = today - timedelta(days=max(ages) + rng.randint(30, 2000))
            rows.medications.append(
                Medication(
                    id=uuid.UUID(int=rng.getrandbits(128), version=4),
                    patient=patient,
                    drug=rng.choice(["alendronate", "risedronate", "denosumab"]),
                    start_date=start,
                    dose="",
                    route="oral",
                    recorded_on=today,
                    unverified=True,
                )
            )
    for kind_rows in rows.all():
        for obj in kind_rows:
            obj.created_at = now
            obj.updated_at = now
    return rows


def _episode(  # noqa: C901 - a long scripted scenario, split in a later change
    rows: Rows, patient: Patient, clinic: Clinic, identified: date, today: date, rng: random.Random
) -> None:
    onset = identified - timedelta(days=rng.choice([0, 1, 2, 3, 4, 5, 5, 6, 8, 12, 20]))
    r = rng.random()
    etiology = (
        "pathologic_suspected"
        if r < 0.03
        else "pathologic_confirmed"
        if r < 0.05
        else "osteopenic"
        if r < 0.15
        else "osteoporotic"
    )
    neuro = "deficit" if rng.random() < 0.04 else "intact" if rng.random() < 0.85 else "unknown"
    episode = Episode(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        patient=patient,
        clinic=clinic,
        levels_mask=levels_to_mask(_levels(rng)),
        onset_date=onset,
        identified_date=identified,
        etiology=etiology,
        neuro_status=neuro,
        recorded_on=identified,
        version=0,
        phase="triage",
        next_review_at=None,
    )
    rows.episodes.append(episode)

    def uid() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    def day(n: int) -> date | None:
        d = identified + timedelta(days=n)
        return d if d <= today else None

    def obs(kind: str, value: float | bool, on: date | None) -> None:
        if on is None:
            return
        rows.observations.append(
            Observation(
                id=uid(),
                episode=episode,
                kind=kind,
                recorded_on=on,
                effective_date=on,
                value_number=None if isinstance(value, bool) else float(value),
                value_bool=value if isinstance(value, bool) else None,
            )
        )

    def med(
        drug: str, start: date | None, stop: date | None = None, dose: str = "", route: str = ""
    ) -> None:
        if start is None:
            return
        if stop is not None and stop > today:
            stop = None
        rows.medications.append(
            Medication(
                id=uid(),
                patient=patient,
                drug=drug,
                start_date=start,
                stop_date=stop,
                dose=dose,
                route=route,
                recorded_on=stop or start,
            )
        )

    if rng.random() < 0.8:
        on = day(rng.randint(0, 10))
        if on:
            rows.imaging.append(
                Imaging(
                    id=uid(),
                    episode=episode,
                    modality="mri",
                    performed_date=on,
                    edema=rng.random() < 0.85,
                    recorded_on=on,
                )
            )
    if rng.random() < 0.7:
        obs("malignancy_suspected", etiology.startswith("pathologic"), day(rng.randint(0, 3)))
    # Pain trajectory: most settle over 6-8 weeks; a fifth stay severe.
    persistent = rng.random() < 0.2
    pain = rng.uniform(6, 9.5)
    for offset in (0, rng.randint(19, 26), rng.randint(35, 50), rng.randint(80, 95)):
        if rng.random() < 0.85:
            obs("pain_nrs", round(min(10.0, max(0.0, pain)), 0), day(offset))
        pain = pain + rng.uniform(-0.5, 1.0) if persistent else pain * rng.uniform(0.5, 0.8)
    if rng.random() < 0.08:
        obs("pain_nrs", 9, day(rng.randint(10, 40)))  # a flare
    if rng.random() < 0.12:
        obs("kyphosis_pct", round(rng.uniform(5, 25), 1), day(rng.randint(0, 14)))
    if rng.random() < 0.12:
        obs("height_loss_pct", round(rng.uniform(5, 35), 1), day(rng.randint(0, 14)))
    for kind, p in (
        ("parenteral_narcotics", 0.03),
        ("hospital_admission", 0.04),
        ("pulmonary_dysfunction", 0.01),
        ("pain_med_contraindication", 0.02),
        ("instability", 0.01),
        ("symptoms_changed", 0.04),
    ):
        if rng.random() < p:
            obs(kind, True, day(rng.randint(0, 200)))
    presented = (identified - onset).days
    if presented <= 5 and rng.random() < 0.6:
        start = day(rng.randint(0, 1))
        med("calcitonin", start, day(28) if rng.random() < 0.9 else None, "200 IU", "nasal")
    r = rng.random()
    start = day(rng.randint(0, 40))
    if r < 0.40:
        med("alendronate", start, None, "70 mg weekly", "oral")
    elif r < 0.50:
        med("ibandronate", start, None, "150 mg monthly", "oral")
    elif r < 0.58:
        med("zoledronic_acid", start, None, "5 mg yearly", "intravenous")
    elif r < 0.72 and start:
        dose_day = start
        while dose_day <= today:
            med("denosumab", dose_day, None, "60 mg", "subcutaneous")
            dose_day = dose_day + timedelta(days=rng.randint(175, 200))
    elif r < 0.76:
        med("teriparatide", start, None, "20 mcg daily", "subcutaneous")
    if rng.random() < 0.7:
        med("calcium", day(rng.randint(0, 14)), None, "1000 mg", "oral")
        med("vitamin_d", day(rng.randint(0, 14)), None, "800 IU", "oral")
    if rng.random() < 0.25:
        med("opioid", day(rng.randint(0, 10)), day(rng.randint(14, 40)), "tramadol 50 mg", "oral")
    if rng.random() < 0.5:
        med("nsaid", day(0), day(rng.randint(20, 60)), "ibuprofen 400 mg", "oral")
    if rng.random() < 0.65:
        bmd = rng.uniform(0.65, 0.9)
        decline = rng.random() < 0.15
        offset = rng.randint(0, 30)
        while (on := day(offset)) is not None:
            rows.dxa.append(
                BoneDensity(
                    id=uid(),
                    patient=episode.patient,
                    performed_date=on,
                    site="lumbar_spine",
                    bmd_g_cm2=round(bmd, 3),
                    t_score=round((bmd - 1.0) / 0.11, 1),
                    recorded_on=on,
                )
            )
            bmd *= rng.uniform(0.93, 0.955) if decline else rng.uniform(0.99, 1.03)
            offset += rng.randint(355, 380)
    if rng.random() < 0.08:
        on = day(rng.randint(95, 140))
        if on:
            rows.procedures.append(
                Procedure(
                    id=uid(),
                    episode=episode,
                    kind=rng.choice(["vertebroplasty", "kyphoplasty"]),
                    level=episode_levels(episode)[0],
                    performed_date=on,
                    recorded_on=on,
                )
            )


def episode_levels(episode: Episode) -> list[str]:
    return episode.levels


def save_rows(
    rows: Rows,
    *,
    now: datetime,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Insert the rows in bulk, each stamped with a change_seq, in one transaction per kind."""
    for kind_rows in rows.all():
        if not kind_rows:
            continue
        model = type(kind_rows[0])
        for start in range(0, len(kind_rows), batch_size):
            chunk = kind_rows[start : start + batch_size]
            with transaction.atomic():
                first = allocate_change_seq(len(chunk))
                for offset, obj in enumerate(chunk):
                    obj.change_seq = first + offset
                    if model is Episode and obj.next_review_at is None:
                        obj.next_review_at = now
                model.objects.bulk_create(chunk, batch_size=batch_size)
            if progress:
                progress(len(chunk))
