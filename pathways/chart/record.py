"""What the patient page shows, as plain data: timeline entries, episodes,
the bone-health programme and the whole record (built by
``pathways.chart.selectors.patient_record``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pathways.engine import Evaluation, TaskSpec
from pathways.models import (
    Episode,
    FollowUpTask,
    Imaging,
    Observation,
    PhaseTransition,
    Procedure,
    Programme,
)
from pathways.worklist.selectors import WorklistRow
from patients.models import BoneDensity, Medication, Patient
from vcftrack.core.labels import label


@dataclass
class TimelineEntry:
    on: date
    kind: str  # fact | task | phase | projected
    category: str  # pain, imaging, dxa, medication, procedure, observation, task, phase
    title: str
    detail: str = ""
    status: str = ""
    episode_id: uuid.UUID | None = None
    episode_label: str = ""
    task: FollowUpTask | None = None
    # A recorded fact: its kind (observation, imaging, procedure, medication,
    # dxa) and id, so the person can void it from the timeline.
    fact_kind: str = ""
    fact_id: uuid.UUID | None = None

    @property
    def key(self) -> str:
        return f"{self.fact_kind}:{self.fact_id}" if self.fact_id else ""


@dataclass
class EpisodeView:
    episode: Episode
    levels: list[str]
    transitions: list[PhaseTransition]
    evaluation: Evaluation | None
    open_tasks: list[FollowUpTask]
    projected: list[tuple[TaskSpec, str]]
    observations: list[Observation]
    imaging: list[Imaging]
    procedures: list[Procedure]
    today: date
    open_rows: list[WorklistRow] = field(default_factory=list)
    closed_tasks: list[FollowUpTask] = field(default_factory=list)

    @property
    def closed_by_person(self) -> list[FollowUpTask]:
        """Tasks a person closed (done, not applicable): they can be reopened."""
        return [t for t in self.closed_tasks if t.closed_by_person]

    @property
    def day(self) -> int:
        """Days since identification (pathway-spec counts "day N" from it)."""
        return (self.today - self.episode.identified_date).days

    @property
    def label(self) -> str:
        return f"{'/'.join(self.levels)} · {self.episode.identified_date:%-d %b %Y}"


PROGRAMME_LABEL = "Bone-health programme"


@dataclass
class ProgrammeView:
    """The patient's bone-health programme (pathway-spec V2.1): its tasks are
    the patient's, shown once, not under each fracture."""

    programme: Programme
    open_tasks: list[FollowUpTask]
    projected: list[tuple[TaskSpec, str]]
    today: date
    # The first fracture's identification: what a clinician counts the
    # programme from (the row's started_on is when its record entered).
    since: date | None = None
    open_rows: list[WorklistRow] = field(default_factory=list)
    label: str = PROGRAMME_LABEL


@dataclass
class PatientRecord:
    patient: Patient
    today: date
    episodes: list[EpisodeView]
    medications: list[Medication]
    bone_density: list[BoneDensity]
    timeline: list[TimelineEntry]
    pain_series: dict[str, list[tuple[date, float]]]
    bmd_series: dict[str, list[tuple[date, float]]]
    bmd_changes: list[dict[str, Any]]
    programme: ProgrammeView | None = None

    @property
    def timeline_past(self) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.on <= self.today]

    @property
    def timeline_past_newest_first(self) -> list[TimelineEntry]:
        # Within a day the facts first (what was recorded), then the tasks
        # they closed, then the phase moves they caused.
        rank = {"fact": 0, "task": 1, "phase": 2, "projected": 3}
        return sorted(self.timeline_past[::-1], key=lambda e: (-e.on.toordinal(), rank[e.kind]))

    @property
    def bmd_rows(self) -> list[dict[str, Any]]:
        """The yearly changes, and each site's newest scan even when it came
        too soon after the one before for a yearly rate (the engine compares
        scans at least 6 months apart): the table never drops the newest."""
        rows = list(self.bmd_changes)
        for site in sorted({s.site for s in self.bone_density}):
            scans = [s for s in self.bone_density if s.site == site]
            newest = scans[-1]
            if len(scans) < 2 or any(
                r["site"] == site and r["to"] == newest.performed_date for r in rows
            ):
                continue
            before = scans[-2]
            rows.append(
                {
                    "site": site,
                    "from": before.performed_date,
                    "to": newest.performed_date,
                    "from_bmd": float(before.bmd_g_cm2),
                    "to_bmd": float(newest.bmd_g_cm2),
                    "pct_per_year": None,
                }
            )
        return sorted(rows, key=lambda r: (r["to"], r["site"]))

    @property
    def active_medications(self) -> list[Medication]:
        return [m for m in self.medications if m.stop_date is None or m.stop_date > self.today]

    @property
    def timeline_future(self) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.on > self.today]


def fmt_observation(obs: Observation) -> str:
    text = label(obs.kind)
    value = obs.value
    if obs.kind == "neuro_deficit":
        return f"Neurological exam: {'deficit found' if value else 'intact'}"
    if isinstance(value, bool):
        return f"{text}: {'yes' if value else 'no'}"
    if obs.kind == "pain_nrs":
        return f"Pain score {value:g}/10"
    if obs.kind.endswith("_pct"):
        return f"{text.removesuffix(' (%)')} {value:g} %"
    return f"{text} {value:g}"
