"""EpisodeOfCare and Condition: the follow-up episode and the fracture it is about."""

from __future__ import annotations

from pathways.interop.fhir import codes
from pathways.interop.fhir.export.elements import (
    JSON,
    concept,
    iso,
    level_site,
    local,
    meta,
    ref,
)
from pathways.models import Episode, EpisodeStatus, Phase, PhaseTransition


def episode_of_care_status(episode: Episode) -> str:
    if episode.deleted_at is not None:
        return "entered-in-error"
    if episode.status == EpisodeStatus.CLOSED or episode.phase == Phase.CLOSED:
        return "finished"
    return "active"


def phase_extension(phase: str) -> JSON:
    return {"url": codes.system_uri("StructureDefinition", "episode-phase"), "valueCode": phase}


def status_history(transitions: list[PhaseTransition]) -> list[JSON]:
    """One entry per phase, from its transition to the next one."""
    history: list[JSON] = []
    for index, tr in enumerate(transitions):
        span: JSON = {"start": iso(tr.effective_date)}
        if index + 1 < len(transitions):
            end = max(transitions[index + 1].effective_date, tr.effective_date)
            span["end"] = iso(end)
        history.append(
            {
                # The pathway phase is finer than EpisodeOfCare.status: it rides
                # along as an extension on each history entry.
                "extension": [
                    phase_extension(tr.to_phase),
                    {
                        "url": codes.system_uri("StructureDefinition", "phase-cause"),
                        "valueString": tr.cause or tr.to_phase,
                    },
                ],
                "status": "finished" if tr.to_phase == Phase.CLOSED else "active",
                "period": span,
            }
        )
    return history


def episode_of_care(
    episode: Episode, transitions: list[PhaseTransition], condition_id: str, org_id: str
) -> JSON:
    period: JSON = {"start": iso(episode.identified_date)}
    if episode.closed_at is not None:
        period["end"] = iso(episode.clinic.today(episode.closed_at))
    resource: JSON = {
        "resourceType": "EpisodeOfCare",
        "id": str(episode.id),
        "meta": meta(episode),
        "extension": [phase_extension(episode.phase)],
        "identifier": [{"system": codes.system_uri("episode"), "value": str(episode.id)}],
        "status": episode_of_care_status(episode),
        "type": [
            concept(
                "Vertebral compression fracture follow-up",
                local("episode-type", "vcf-follow-up", "VCF follow-up pathway"),
            )
        ],
        "diagnosis": [
            {
                "condition": ref("Condition", condition_id),
                "role": concept("Chief complaint"),
                "rank": 1,
            }
        ],
        "patient": ref("Patient", episode.patient_id),
        "managingOrganization": ref("Organization", org_id),
        "period": period,
    }
    history = status_history(transitions)
    if history:
        resource["statusHistory"] = history
    return resource


def condition(episode: Episode, condition_id: str) -> JSON:
    codings = [(codes.SNOMED, *codes.VCF_SNOMED)]
    if episode.etiology == "osteoporotic":
        codings.append((codes.SNOMED, *codes.OSTEOPOROTIC_FRACTURE_SNOMED))
        codings.append((codes.ICD10CM, *codes.VCF_OSTEOPOROTIC_ICD10))
    active = episode.status == EpisodeStatus.ACTIVE and episode.deleted_at is None
    notes = [
        f"Etiology: {episode.etiology.replace('_', ' ')}.",
        f"Neurological status: {episode.neuro_status}.",
    ]
    if episode.close_reason:
        notes.append(f"Episode closed: {episode.close_reason.replace('_', ' ')}.")
    return {
        "resourceType": "Condition",
        "id": condition_id,
        "clinicalStatus": {
            "coding": [
                {"system": codes.CONDITION_CLINICAL, "code": "active" if active else "inactive"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": codes.CONDITION_VER_STATUS,
                    "code": "entered-in-error" if episode.deleted_at else "confirmed",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": codes.CONDITION_CATEGORY,
                        "code": "problem-list-item",
                        "display": "Problem List Item",
                    }
                ]
            }
        ],
        "code": concept(f"Vertebral compression fracture {'/'.join(episode.levels)}", *codings),
        "bodySite": [level_site(level) for level in episode.levels],
        "subject": ref("Patient", episode.patient_id),
        "onsetDateTime": iso(episode.onset_date),
        "recordedDate": iso(episode.identified_date),
        "note": [{"text": " ".join(notes)}],
    }
