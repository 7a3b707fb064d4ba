"""FHIR R4 export of an episode: validates with the R4B models, maps what a reader needs."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from pathways.inputs.facts import parse_fact_change
from pathways.interop.fhir.export import episode_bundle
from pathways.models import FollowUpTask
from pathways.services import (
    episode_close,
    fact_record,
    fact_update,
    task_not_applicable,
    task_snooze,
)
from pathways.services.patient_facts import bone_density_record, medication_record
from tests.factories import dxa_values, fact_values, medication_values
from vcftrack.core.errors import FieldErrors

# These pin version 1's episode semantics; the programme's are tested in
# tests/api/test_programme_tasks.py and tests/pathways/test_programme_service.py.
pytestmark = [pytest.mark.django_db, pytest.mark.pathway_v1]

BOOLEAN_FALSE = [
    "pulmonary_dysfunction",
    "neuro_deficit",
    "neuro_deterioration",
    "instability",
    "canal_compromise",
    "parenteral_narcotics",
    "hospital_admission",
    "pain_med_contraindication",
    "worsening_symptoms",
    "symptoms_changed",
    "malignancy_suspected",
    "pathologic_confirmed",
]


def by_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def task_resource(bundle: dict[str, Any], rule: str) -> dict[str, Any]:
    (found,) = [t for t in by_type(bundle, "Task") if t["code"]["text"] == rule]
    return found


@pytest.fixture
def full_episode(make_episode, now, alice, django_capture_on_commit_callbacks):
    """An episode identified 23 days ago with every kind of fact and tasks in every state."""
    episode = make_episode(
        onset_date="2026-10-28", identified_date="2026-10-30", levels=["T12", "L1"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        record = lambda kind, data: fact_record(  # noqa: E731
            episode=episode, values=fact_values(kind, data), now=now
        )
        # Before day 21, so the 3-week pain review stays open.
        record("observation", {"kind": "pain_nrs", "value": 8, "effective_date": "2026-11-01"})
        record("observation", {"kind": "odi", "value": 46, "effective_date": "2026-11-01"})
        for kind, value in [
            ("scoliosis_pct", 4),
            ("dorsal_wall_loss_pct", 5),
            ("height_loss_pct", 12),
        ]:
            record("observation", {"kind": kind, "value": value, "effective_date": "2026-11-02"})
        for kind in BOOLEAN_FALSE:
            record("observation", {"kind": kind, "value": False, "effective_date": "2026-11-02"})
        kyphosis = record(
            "observation", {"kind": "kyphosis_pct", "value": 20, "effective_date": "2026-11-03"}
        )
        record("imaging", {"modality": "mri", "performed_date": "2026-11-01", "edema": True})
        record("imaging", {"modality": "xray", "performed_date": "2026-10-30"})
        record(
            "procedure", {"kind": "vertebroplasty", "level": "L1", "performed_date": "2026-11-15"}
        )
        medication_record(
            patient=episode.patient,
            **medication_values(
                {
                    "drug": "alendronate",
                    "start_date": "2026-11-01",
                    "dose": "70 mg weekly",
                    "route": "oral",
                }
            ),
            now=now,
        )
        medication_record(
            patient=episode.patient,
            **medication_values(
                {"drug": "nsaid", "start_date": "2026-10-30", "stop_date": "2026-11-10"}
            ),
            now=now,
        )
        bone_density_record(
            patient=episode.patient,
            **dxa_values(
                {
                    "performed_date": "2026-11-05",
                    "site": "lumbar_spine",
                    "bmd_g_cm2": "0.812",
                    "t_score": "-2.7",
                }
            ),
            now=now,
        )
    with django_capture_on_commit_callbacks(execute=True):
        # The deformity was mis-measured: the consults it raised no longer apply.
        found = FieldErrors()
        fact_update(
            fact=kyphosis,
            values=parse_fact_change(kyphosis, {"value": 5}, found),
            now=now,
            errors=found,
        )
    tasks = {t.rule: t for t in FollowUpTask.objects.filter(patient_id=episode.patient_id)}
    with django_capture_on_commit_callbacks(execute=True):
        task_not_applicable(
            task=tasks["calcium_vitamin_d"],
            actor=alice,
            reason="Already on calcium and vitamin D",
            now=now,
        )
        task_snooze(
            task=tasks["falls_prevention"],
            actor=alice,
            until=dt.date(2026, 12, 1),
            reason="Patient in rehab until December",
            now=now,
        )
    episode.refresh_from_db()
    return episode


def test_bundle_validates_against_the_r4b_models(full_episode, now):
    bundle = episode_bundle(full_episode, now=now)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    tasks = FollowUpTask.objects.filter(episode=full_episode).count()
    assert kinds == {
        "Patient": 1,
        "Organization": 1,
        "EpisodeOfCare": 1,
        "Condition": 1,
        # 18 observations + the DXA scan + the MRI's edema finding
        "Observation": 18 + 1 + 1,
        "ImagingStudy": 2,
        "Procedure": 1,
        "MedicationStatement": 2,
        "Task": tasks,
    }
    # Every reference points at an entry of the bundle.
    urls = {e["fullUrl"] for e in bundle["entry"]}
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str):
                refs.append(node["reference"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(bundle)
    assert refs
    assert set(refs) <= urls


def test_patient_condition_and_episode_of_care(full_episode, now):
    bundle = episode_bundle(full_episode, now=now)
    (patient,) = by_type(bundle, "Patient")
    assert patient["identifier"][0]["value"] == "A-0001"
    assert "clinic-a" in patient["identifier"][0]["system"]
    assert (patient["gender"], patient["birthDate"]) == ("female", "1946-03-02")
    assert patient["name"][0]["family"] == "Hartmann"

    (condition,) = by_type(bundle, "Condition")
    codings = {(c["system"], c["code"]) for c in condition["code"]["coding"]}
    assert ("http://snomed.info/sct", "42942008") in codings
    assert ("http://hl7.org/fhir/sid/icd-10-cm", "M80.08XA") in codings  # osteoporotic
    assert [s["text"] for s in condition["bodySite"]] == ["T12 vertebra", "L1 vertebra"]
    assert condition["bodySite"][1]["coding"][0]["code"] == "66794005"
    assert (condition["onsetDateTime"], condition["recordedDate"]) == ("2026-10-28", "2026-10-30")

    (eoc,) = by_type(bundle, "EpisodeOfCare")
    assert eoc["status"] == "active"
    assert eoc["period"] == {"start": "2026-10-30"}
    phases = [h["extension"][0]["valueCode"] for h in eoc["statusHistory"]]
    transitions = list(
        full_episode.transitions.order_by("at", "id").values_list("to_phase", flat=True)
    )
    assert phases == transitions
    assert phases[0] == "triage"
    assert eoc["extension"][0]["valueCode"] == full_episode.phase


def test_pain_is_loinc_72514_3_and_dxa_carries_bmd_and_t_score(full_episode, now):
    bundle = episode_bundle(full_episode, now=now)
    observations = by_type(bundle, "Observation")
    (pain,) = [o for o in observations if o["code"]["text"].startswith("Pain (numeric")]
    assert pain["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "72514-3",
        "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    }
    assert pain["valueQuantity"]["value"] == 8
    assert pain["effectiveDateTime"] == "2026-11-01"
    flags = [o for o in observations if "valueBoolean" in o]
    assert len(flags) == len(BOOLEAN_FALSE) + 1  # + the MRI's edema finding
    (dxa,) = [o for o in observations if o["code"]["coding"][0]["code"] == "24966-4"]
    assert dxa["valueQuantity"] == {
        "value": 0.812,
        "unit": "g/cm2",
        "system": "http://unitsofmeasure.org",
        "code": "g/cm2",
    }
    assert dxa["component"][0]["code"]["coding"][0]["code"] == "38267-1"
    assert dxa["component"][0]["valueQuantity"]["value"] == -2.7
    meds = {
        m["medicationCodeableConcept"]["text"]: m for m in by_type(bundle, "MedicationStatement")
    }
    assert meds["alendronate"]["status"] == "active"
    assert meds["alendronate"]["dosage"][0]["text"] == "70 mg weekly"
    assert meds["nsaid"]["status"] == "completed"
    assert meds["nsaid"]["effectivePeriod"] == {"start": "2026-10-30", "end": "2026-11-10"}
    (procedure,) = by_type(bundle, "Procedure")
    assert procedure["bodySite"][0]["text"] == "L1 vertebra"


def test_task_status_window_and_business_status(full_episode, now):
    bundle = episode_bundle(full_episode, now=now)  # the clinic's today is 2026-11-22
    done = task_resource(bundle, "neuro_exam")
    assert (done["status"], done["businessStatus"]["text"]) == ("completed", "done")
    missed = task_resource(bundle, "calcitonin_start")
    assert (missed["status"], missed["businessStatus"]["text"]) == ("failed", "missed")
    na = task_resource(bundle, "calcium_vitamin_d")
    assert (na["status"], na["statusReason"]["text"]) == (
        "cancelled",
        "Already on calcium and vitamin D",
    )
    cancelled = task_resource(bundle, "surgical_consult")
    assert cancelled["status"] == "cancelled"
    assert cancelled["businessStatus"]["text"] == "cancelled"

    due = task_resource(bundle, "pain_review_3w")  # day 21 = 2026-11-20, grace 7
    assert (due["status"], due["businessStatus"]["text"]) == ("ready", "due")
    assert due["restriction"]["period"] == {"start": "2026-11-20", "end": "2026-11-27"}
    assert due["description"] == "3-week pain and function review"
    assert due["for"]["reference"] == f"urn:uuid:{full_episode.patient_id}"
    assert due["focus"]["reference"] == f"urn:uuid:{full_episode.id}"

    overdue = task_resource(bundle, "mobilisation")  # day 0 = 2026-10-30
    assert (overdue["status"], overdue["businessStatus"]["text"]) == ("ready", "overdue")
    assert overdue["restriction"]["period"] == {"start": "2026-10-30", "end": "2026-11-06"}

    snoozed = task_resource(bundle, "falls_prevention")
    assert (snoozed["status"], snoozed["businessStatus"]["text"]) == ("requested", "upcoming")
    assert snoozed["restriction"]["period"]["start"] == "2026-12-01"
    allowed = {"requested", "ready", "completed", "cancelled", "failed"}
    assert {t["status"] for t in by_type(bundle, "Task")} <= allowed


def test_due_state_uses_the_clinics_date_not_utc(full_episode):
    # 23:30 UTC on 11-19 is already 11-20 in Berlin: the 3-week review is due there.
    late = dt.datetime(2026, 11, 19, 23, 30, tzinfo=dt.UTC)
    task = task_resource(episode_bundle(full_episode, now=late), "pain_review_3w")
    assert task["businessStatus"]["text"] == "due"
    earlier = dt.datetime(2026, 11, 19, 22, 30, tzinfo=dt.UTC)  # 23:30 on 11-19 in Berlin
    task = task_resource(episode_bundle(full_episode, now=earlier), "pain_review_3w")
    assert (task["status"], task["businessStatus"]["text"]) == ("requested", "upcoming")


def test_closed_episode_is_finished_with_its_history(make_episode, now, alice):
    episode = make_episode()
    closed = episode_close(episode=episode, reason="transferred", now=now, actor_id=alice.pk)
    bundle = episode_bundle(closed, now=now)
    Bundle.model_validate(bundle)
    (eoc,) = by_type(bundle, "EpisodeOfCare")
    assert eoc["status"] == "finished"
    assert eoc["period"]["end"] == "2026-11-22"
    assert eoc["statusHistory"][-1]["status"] == "finished"
    assert eoc["statusHistory"][-1]["extension"][0]["valueCode"] == "closed"
    (condition,) = by_type(bundle, "Condition")
    assert condition["clinicalStatus"]["coding"][0]["code"] == "inactive"
    assert {t["status"] for t in by_type(bundle, "Task")} <= {"completed", "cancelled"}


def test_query_count_does_not_grow_with_the_episode(
    full_episode, make_episode, now, django_assert_max_num_queries
):
    from pathways.models import Episode

    small = make_episode(onset_date="2026-11-20", identified_date="2026-11-21", levels=["L3"])
    for episode in (Episode.objects.get(pk=small.pk), Episode.objects.get(pk=full_episode.pk)):
        with django_assert_max_num_queries(10):
            bundle = episode_bundle(episode, now=now)
        assert by_type(bundle, "Task")


def test_a_deceased_patient_and_an_unverified_prescription(
    make_episode, now, django_capture_on_commit_callbacks
):
    from pathways.services.patient_facts import patient_record_death

    episode = make_episode()
    living = episode_bundle(episode, now=now)
    (patient,) = by_type(living, "Patient")
    # No date of death: no statement (FHIR reads an absent deceased[x] so).
    assert "deceasedDateTime" not in patient
    assert "deceasedBoolean" not in patient
    with django_capture_on_commit_callbacks(execute=True):
        medication_record(
            patient=episode.patient,
            **medication_values({"drug": "alendronate", "start_date": "2019-01-10"}),
            now=now,
            unverified=True,
        )
        patient_record_death(
            patient=episode.patient, deceased_date=dt.date(2026, 11, 21), actor=None, now=now
        )
    bundle = episode_bundle(episode, now=now)
    Bundle.model_validate(bundle)
    (patient,) = by_type(bundle, "Patient")
    assert patient["deceasedDateTime"] == "2026-11-21"
    (statement,) = by_type(bundle, "MedicationStatement")
    assert statement["status"] == "active"
    assert "not yet verified" in statement["note"][0]["text"]
