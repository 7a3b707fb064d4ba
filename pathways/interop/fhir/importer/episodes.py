"""Vertebral fracture Conditions -> episodes, and the pain scores that follow.

An episode is created *only when the record names the vertebral level(s)*
(Condition.bodySite: SNOMED vertebra codes or text such as "L1"): the
pathway depends on the level (nerve root block at L3/L4, augmentation at
the fractured level), so an episode is never created with a guessed level.
A vertebral fracture without a level is skipped and reported, for someone
to enter by hand from the imaging report. Synthea's "Pathological fracture
due to osteoporosis" comes with a second condition naming the bone (hip,
forearm, wrist, ankle, clavicle, rib): those are not vertebral and become
no episode (reported). An osteoporosis Condition marks the patient's later
vertebral fractures as osteoporotic.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from pathways.inputs.episodes import parse_episode
from pathways.inputs.facts import parse_observation
from pathways.interop.fhir import codes
from pathways.interop.fhir.importer.record import PatientRecord
from pathways.interop.fhir.importer.values import (
    JSON,
    codes_in,
    fhir_date,
    label,
    quantity,
    ref_id,
    texts,
)
from pathways.levels import LEVELS
from pathways.models import Episode, Observation
from pathways.services import episode_close, episode_create, fact_record
from patients.models import Patient
from vcftrack.core.errors import FieldErrors

LEVEL_TEXT = re.compile(r"\b([TL])\s?(\d{1,2})\b", re.IGNORECASE)
PAIN_WINDOW = timedelta(days=365)
FRACTURE_CODES = (
    {codes.OSTEOPOROTIC_FRACTURE_SNOMED[0]}
    | set(codes.VERTEBRAL_FRACTURE_SNOMED)
    | set(codes.NON_VERTEBRAL_FRACTURE_SNOMED)
)


def levels_named(concepts: object) -> list[str]:
    """Vertebral levels named by Condition.bodySite (SNOMED codes or text)."""
    found: list[str] = []
    for concept in concepts if isinstance(concepts, list) else []:
        for code in codes_in(concept, codes.SNOMED):
            level = codes.LEVEL_BY_VERTEBRA_SNOMED.get(code)
            if level:
                found.append(level)
        for letter, number in LEVEL_TEXT.findall(texts(concept)):
            level = f"{letter.upper()}{int(number)}"
            if level in LEVELS:
                found.append(level)
    return sorted(set(found), key=LEVELS.index)


@dataclass(frozen=True)
class Fracture:
    """The Conditions recorded for one event (Synthea: 443165006 + the bone)."""

    conditions: list[JSON]

    @property
    def all_codes(self) -> set[str]:
        return set().union(*(codes_in(c.get("code"), codes.SNOMED) for c in self.conditions))

    @property
    def osteoporotic(self) -> bool:
        return codes.OSTEOPOROTIC_FRACTURE_SNOMED[0] in self.all_codes

    @property
    def vertebral(self) -> list[JSON]:
        wanted = set(codes.VERTEBRAL_FRACTURE_SNOMED)
        return [c for c in self.conditions if codes_in(c.get("code"), codes.SNOMED) & wanted]

    @property
    def levels(self) -> list[str]:
        return levels_named([s for c in self.conditions for s in c.get("bodySite", [])])

    @property
    def main(self) -> JSON:
        return (self.vertebral or self.conditions)[0]

    def bones(self) -> list[str]:
        names = codes.NON_VERTEBRAL_FRACTURE_SNOMED
        return sorted({names[code] for code in self.all_codes if code in names})


def fractures(conditions: list[JSON]) -> list[Fracture]:
    """Fracture conditions grouped by event: those recorded in the same
    encounter (else with the same onset) describe the same fracture."""
    events: dict[str, list[JSON]] = defaultdict(list)
    for cond in conditions:
        key = ref_id(cond.get("encounter")) or f"{cond.get('onsetDateTime')}"
        if codes_in(cond.get("code"), codes.SNOMED) & FRACTURE_CODES:
            events[key].append(cond)
    return [Fracture(group) for group in events.values()]


def _osteoporosis_onsets(rec: PatientRecord, conditions: list[JSON]) -> list[date]:
    return [
        d
        for c in conditions
        if codes.OSTEOPOROSIS_SNOMED in codes_in(c.get("code"), codes.SNOMED)
        for d in [fhir_date(c.get("onsetDateTime"), rec.tz)]
        if d is not None
    ]


def _episode_data(
    rec: PatientRecord, fracture: Fracture, what: str, osteoporosis_on: list[date]
) -> JSON | None:
    """The episode to create from a fracture, or None (reported)."""
    levels = fracture.levels
    if not levels:
        rec.out.skip(
            f"{rec.label}: {what}: vertebral fracture without a vertebral level; "
            "no episode created (enter it by hand with the level from the imaging report)"
        )
        return None
    onset = fhir_date(fracture.main.get("onsetDateTime"), rec.tz)
    if onset is None:
        rec.out.skip(f"{rec.label}: {what}: no onset date; no episode created")
        return None
    if rec.future(onset, "vertebral fracture"):
        return None
    recorded = fhir_date(fracture.main.get("recordedDate"), rec.tz)
    identified = recorded if recorded and onset <= recorded <= rec.today else onset
    cord = bool(fracture.all_codes & codes.VERTEBRAL_FRACTURE_WITH_CORD_INJURY)
    osteoporotic = fracture.osteoporotic or any(d <= onset for d in osteoporosis_on)
    return {
        "levels": levels,
        "onset_date": onset,
        "identified_date": identified,
        "etiology": "osteoporotic" if osteoporotic else "unknown",
        "neuro_status": "deficit" if cord else "unknown",
    }


def _describe(rec: PatientRecord, fracture: Fracture) -> str:
    onset = fhir_date(fracture.main.get("onsetDateTime"), rec.tz)
    names = " + ".join(label(c.get("code")) for c in fracture.conditions)
    return f"fracture on {onset} ({names})"


def import_episodes(rec: PatientRecord, patient: Patient) -> list[Episode]:
    """Create an episode per vertebral fracture that names its level(s)."""
    conditions = rec.conditions()
    osteoporosis_on = _osteoporosis_onsets(rec, conditions)
    created: list[Episode] = []
    for fracture in fractures(conditions):
        if not fracture.osteoporotic and not fracture.vertebral:
            continue  # a plain non-vertebral fracture: not this tracker's business
        what = _describe(rec, fracture)
        if not fracture.vertebral and not fracture.levels:
            bones = fracture.bones()
            where = f"of the {', '.join(bones)}" if bones else "at an unrecorded site"
            rec.out.skip(
                f"{rec.label}: {what}: osteoporotic fracture {where}, not vertebral; no VCF episode"
            )
            continue
        row_id = rec.row_id("Condition", str(fracture.main.get("id")))
        if Episode.objects.filter(id=row_id).exists():
            rec.out.unchanged["episodes"] += 1
            continue
        data = _episode_data(rec, fracture, what, osteoporosis_on)
        if data is None:
            continue
        found = FieldErrors()
        values = parse_episode(data, found)
        episode = rec.write(
            "episodes",
            what,
            partial(
                episode_create,
                patient=patient,
                **values,
                now=rec.now,
                episode_id=row_id,
                errors=found,
            ),
        )
        if episode is not None:
            created.append(episode)
    return created


PainScore = tuple[JSON, Episode, date, float]


def _pain_scores(rec: PatientRecord, ordered: list[Episode]) -> list[PainScore]:
    """(observation, episode, day, value) of each pain score within a year of
    an episode's onset, on the latest such episode."""
    found: list[PainScore] = []
    for obs in rec.of("Observation"):
        if codes.PAIN_NRS_LOINC[0] not in codes_in(obs.get("code"), codes.LOINC):
            continue
        if obs.get("status") in {"entered-in-error", "cancelled"}:
            continue
        day = fhir_date(obs.get("effectiveDateTime"), rec.tz)
        qty = quantity(obs)
        if day is None or qty is None:
            continue
        owner = None
        for episode in ordered:
            if episode.onset_date <= day <= episode.onset_date + PAIN_WINDOW:
                owner = episode
        if owner is not None:
            found.append((obs, owner, day, qty[0]))
    return found


def import_pain_scores(rec: PatientRecord, episodes: list[Episode]) -> None:
    """Pain scores within a year of an episode's onset, on the latest such episode."""
    if not episodes:
        return
    candidates = _pain_scores(rec, sorted(episodes, key=lambda e: e.onset_date))
    ids = {id(obs): rec.row_id("Observation", str(obs.get("id"))) for obs, *_ in candidates}
    existing = set(Observation.objects.filter(id__in=ids.values()).values_list("id", flat=True))
    for obs, episode, day, value in candidates:
        row_id = ids[id(obs)]
        if row_id in existing:
            rec.out.unchanged["observations"] += 1
            continue
        if rec.future(day, "pain score"):
            continue
        found = FieldErrors()
        values = parse_observation(
            {"kind": "pain_nrs", "value": value, "effective_date": day}, found
        )
        rec.write(
            "observations",
            f"pain score on {day}",
            partial(
                fact_record,
                episode=episode,
                values=values,
                now=rec.now,
                fact_id=row_id,
                errors=found,
            ),
        )


def close_if_deceased(rec: PatientRecord, patient: Patient, episodes: list[Episode]) -> None:
    death = patient.deceased_date
    if death is None:
        return
    for episode in episodes:
        # A follow-up pathway for a patient who has died would only fill
        # the worklist: the new episode is closed, saying why.
        episode_close(
            episode=episode,
            reason="deceased",
            now=rec.now,
            note=f"patient died on {death} (FHIR import)",
        )
