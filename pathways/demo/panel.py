"""The demo panel: patients, their programmes and episodes.

Every random draw happens in the same order as it always has, so a seed
always builds the same panel.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pathways.demo.episode import add_episode
from pathways.demo.rows import Rows
from pathways.models import Programme
from patients.models import Clinic, Medication, Patient

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


@dataclass(frozen=True)
class _Panel:
    """What every patient of one panel shares."""

    today: date
    rng: random.Random
    max_age_days: int
    mrn_prefix: str
    pathway_version: str

    @property
    def v2(self) -> bool:
        return self.pathway_version == "v2"

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


def build_panel(
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
    panel = _Panel(today, rng, max_age_days, mrn_prefix, pathway_version)
    for n in range(patients):
        _add_patient(rows, panel, n, clinics[n % len(clinics)])
    rows.stamp(now)
    return rows


def _add_patient(rows: Rows, panel: _Panel, n: int, clinic: Clinic) -> None:
    rng, today = panel.rng, panel.today
    patient = _new_patient(panel, n, clinic)
    rows.patients.append(patient)
    kind = rng.random()
    imported = panel.v2 and kind < 0.04
    ages = _fracture_ages(panel, kind, imported)
    programme = _add_programme(rows, panel, patient, clinic, ages, imported)
    for age in ages:
        episode = add_episode(rows, patient, clinic, today - timedelta(days=age), today, rng)
        if programme is not None:
            episode.programme = programme
            episode.pathway_version = panel.pathway_version
        if imported:
            episode.recorded_on = today
    if imported:
        _add_unverified_prescription(rows, panel, patient, ages)


def _new_patient(panel: _Panel, n: int, clinic: Clinic) -> Patient:
    rng, today = panel.rng, panel.today
    sex = "female" if rng.random() < 0.8 else "male"
    return Patient(
        id=panel.uid(),
        clinic=clinic,
        mrn=f"{panel.mrn_prefix}{n:07d}",
        given_name=rng.choice(GIVEN),
        family_name=rng.choice(FAMILY),
        birth_date=today - timedelta(days=rng.randint(55 * 365, 92 * 365)),
        sex=sex,
        recorded_on=today,
    )


def _fracture_ages(panel: _Panel, kind: float, imported: bool) -> list[int]:
    """How many days ago each of the patient's fractures was identified."""
    rng, max_age_days = panel.rng, panel.max_age_days
    if panel.v2 and 0.04 <= kind < 0.08:
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
    return ages


def _add_programme(
    rows: Rows, panel: _Panel, patient: Patient, clinic: Clinic, ages: list[int], imported: bool
) -> Programme | None:
    """Version 2 only: the patient's bone-health programme (and, rarely, a death)."""
    if not panel.v2:
        return None
    rng, today = panel.rng, panel.today
    programme = Programme(
        id=panel.uid(),
        patient=patient,
        clinic=clinic,
        rule_set="v2",
        started_on=today if imported else today - timedelta(days=max(ages)),
    )
    rows.programmes.append(programme)
    if rng.random() < 0.01:
        patient.deceased_date = today - timedelta(days=rng.randint(1, 60))
    return programme


def _add_unverified_prescription(
    rows: Rows, panel: _Panel, patient: Patient, ages: list[int]
) -> None:
    # A prescription from years ago with no later evidence: unverified.
    rng, today = panel.rng, panel.today
    start = today - timedelta(days=max(ages) + rng.randint(30, 2000))
    rows.medications.append(
        Medication(
            id=panel.uid(),
            patient=patient,
            drug=rng.choice(["alendronate", "risedronate", "denosumab"]),
            start_date=start,
            dose="",
            route="oral",
            recorded_on=today,
            unverified=True,
        )
    )
