"""One demo episode and the facts recorded on it over time.

Every random draw happens in the same order as it always has, so a seed
always builds the same panel: change the order of a draw and every panel
built after it changes.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from pathways.demo.rows import Rows
from pathways.levels import LEVELS, levels_to_mask
from pathways.models import Episode, Imaging, Observation, Procedure
from patients.models import BoneDensity, Clinic, Medication, Patient

# Yes/no observations and how often a patient has each.
FLAGS = (
    ("parenteral_narcotics", 0.03),
    ("hospital_admission", 0.04),
    ("pulmonary_dysfunction", 0.01),
    ("pain_med_contraindication", 0.02),
    ("instability", 0.01),
    ("symptoms_changed", 0.04),
)


def add_episode(
    rows: Rows, patient: Patient, clinic: Clinic, identified: date, today: date, rng: random.Random
) -> Episode:
    """Add an episode identified on ``identified`` and its facts up to ``today``."""
    episode = _new_episode(patient, clinic, identified, rng)
    rows.episodes.append(episode)
    facts = Facts(rows, episode, patient, identified, today, rng)
    facts.imaging()
    facts.symptoms()
    facts.treatment()
    facts.bone_density()
    facts.procedure()
    return episode


def episode_levels(episode: Episode) -> list[str]:
    return episode.levels


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


def _etiology(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.03:
        return "pathologic_suspected"
    if r < 0.05:
        return "pathologic_confirmed"
    if r < 0.15:
        return "osteopenic"
    return "osteoporotic"


def _neuro_status(rng: random.Random) -> str:
    # The second draw happens only when the first one is not a deficit.
    if rng.random() < 0.04:
        return "deficit"
    return "intact" if rng.random() < 0.85 else "unknown"


def _new_episode(patient: Patient, clinic: Clinic, identified: date, rng: random.Random) -> Episode:
    onset = identified - timedelta(days=rng.choice([0, 1, 2, 3, 4, 5, 5, 6, 8, 12, 20]))
    etiology = _etiology(rng)
    neuro = _neuro_status(rng)
    return Episode(
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


@dataclass
class Facts:
    """Records the facts of one episode; a fact dated after ``today`` is not recorded."""

    rows: Rows
    episode: Episode
    patient: Patient
    identified: date
    today: date
    rng: random.Random

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def day(self, n: int) -> date | None:
        d = self.identified + timedelta(days=n)
        return d if d <= self.today else None

    def obs(self, kind: str, value: float | bool, on: date | None) -> None:
        if on is None:
            return
        self.rows.observations.append(
            Observation(
                id=self.uid(),
                episode=self.episode,
                kind=kind,
                recorded_on=on,
                effective_date=on,
                value_number=None if isinstance(value, bool) else float(value),
                value_bool=value if isinstance(value, bool) else None,
            )
        )

    def med(
        self,
        drug: str,
        start: date | None,
        stop: date | None = None,
        dose: str = "",
        route: str = "",
    ) -> None:
        if start is None:
            return
        if stop is not None and stop > self.today:
            stop = None
        self.rows.medications.append(
            Medication(
                id=self.uid(),
                patient=self.patient,
                drug=drug,
                start_date=start,
                stop_date=stop,
                dose=dose,
                route=route,
                recorded_on=stop or start,
            )
        )

    def imaging(self) -> None:
        rng = self.rng
        if rng.random() < 0.8:
            on = self.day(rng.randint(0, 10))
            if on:
                self.rows.imaging.append(
                    Imaging(
                        id=self.uid(),
                        episode=self.episode,
                        modality="mri",
                        performed_date=on,
                        edema=rng.random() < 0.85,
                        recorded_on=on,
                    )
                )

    def symptoms(self) -> None:
        rng, day = self.rng, self.day
        if rng.random() < 0.7:
            pathologic = self.episode.etiology.startswith("pathologic")
            self.obs("malignancy_suspected", pathologic, day(rng.randint(0, 3)))
        self.pain()
        if rng.random() < 0.12:
            self.obs("kyphosis_pct", round(rng.uniform(5, 25), 1), day(rng.randint(0, 14)))
        if rng.random() < 0.12:
            self.obs("height_loss_pct", round(rng.uniform(5, 35), 1), day(rng.randint(0, 14)))
        for kind, p in FLAGS:
            if rng.random() < p:
                self.obs(kind, True, day(rng.randint(0, 200)))

    def pain(self) -> None:
        # Pain trajectory: most settle over 6-8 weeks; a fifth stay severe.
        rng = self.rng
        persistent = rng.random() < 0.2
        pain = rng.uniform(6, 9.5)
        for offset in (0, rng.randint(19, 26), rng.randint(35, 50), rng.randint(80, 95)):
            if rng.random() < 0.85:
                self.obs("pain_nrs", round(min(10.0, max(0.0, pain)), 0), self.day(offset))
            pain = pain + rng.uniform(-0.5, 1.0) if persistent else pain * rng.uniform(0.5, 0.8)
        if rng.random() < 0.08:
            self.obs("pain_nrs", 9, self.day(rng.randint(10, 40)))  # a flare

    def treatment(self) -> None:
        rng, day, med = self.rng, self.day, self.med
        presented = (self.identified - self.episode.onset_date).days
        if presented <= 5 and rng.random() < 0.6:
            start = day(rng.randint(0, 1))
            med("calcitonin", start, day(28) if rng.random() < 0.9 else None, "200 IU", "nasal")
        self.bone_treatment()
        if rng.random() < 0.7:
            med("calcium", day(rng.randint(0, 14)), None, "1000 mg", "oral")
            med("vitamin_d", day(rng.randint(0, 14)), None, "800 IU", "oral")
        if rng.random() < 0.25:
            start = day(rng.randint(0, 10))
            med("opioid", start, day(rng.randint(14, 40)), "tramadol 50 mg", "oral")
        if rng.random() < 0.5:
            med("nsaid", day(0), day(rng.randint(20, 60)), "ibuprofen 400 mg", "oral")

    def bone_treatment(self) -> None:
        rng, med = self.rng, self.med
        r = rng.random()
        start = self.day(rng.randint(0, 40))
        if r < 0.40:
            med("alendronate", start, None, "70 mg weekly", "oral")
        elif r < 0.50:
            med("ibandronate", start, None, "150 mg monthly", "oral")
        elif r < 0.58:
            med("zoledronic_acid", start, None, "5 mg yearly", "intravenous")
        elif r < 0.72 and start:
            dose_day = start
            while dose_day <= self.today:
                med("denosumab", dose_day, None, "60 mg", "subcutaneous")
                dose_day = dose_day + timedelta(days=rng.randint(175, 200))
        elif r < 0.76:
            med("teriparatide", start, None, "20 mcg daily", "subcutaneous")

    def bone_density(self) -> None:
        rng = self.rng
        if rng.random() >= 0.65:
            return
        bmd = rng.uniform(0.65, 0.9)
        decline = rng.random() < 0.15
        offset = rng.randint(0, 30)
        while (on := self.day(offset)) is not None:
            self.rows.dxa.append(
                BoneDensity(
                    id=self.uid(),
                    patient=self.patient,
                    performed_date=on,
                    site="lumbar_spine",
                    bmd_g_cm2=round(bmd, 3),
                    t_score=round((bmd - 1.0) / 0.11, 1),
                    recorded_on=on,
                )
            )
            bmd *= rng.uniform(0.93, 0.955) if decline else rng.uniform(0.99, 1.03)
            offset += rng.randint(355, 380)

    def procedure(self) -> None:
        rng = self.rng
        if rng.random() < 0.08:
            on = self.day(rng.randint(95, 140))
            if on:
                self.rows.procedures.append(
                    Procedure(
                        id=self.uid(),
                        episode=self.episode,
                        kind=rng.choice(["vertebroplasty", "kyphoplasty"]),
                        level=episode_levels(self.episode)[0],
                        performed_date=on,
                        recorded_on=on,
                    )
                )
