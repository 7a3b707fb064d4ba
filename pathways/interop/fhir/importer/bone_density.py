"""DXA Observations with a BMD value (g/cm2) -> bone-density scans, with the
T-score when one is given for the same site and day.

A T-score alone (Synthea records only that) is skipped and reported:
vcftrack needs the BMD to track the yearly change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from pathways.interop.fhir import codes
from pathways.interop.fhir.importer.record import PatientRecord
from pathways.interop.fhir.importer.values import JSON, codes_in, fhir_date, quantity, texts
from pathways.services.patient_facts import bone_density_record
from patients.inputs import parse_bone_density
from patients.models import BoneDensity, Patient
from vcftrack.core.errors import FieldErrors

WITHDRAWN = frozenset({"entered-in-error", "cancelled"})


def dxa_site(raw: str, obs: JSON) -> str:
    """The vcftrack site; a femur code is the femoral neck only when the text says so."""
    if raw != "femur":
        return raw
    text = (texts(obs.get("code")) + " " + texts(obs.get("bodySite"))).lower()
    return "femoral_neck" if "neck" in text else "total_hip"


def component_t_score(obs: JSON) -> float | None:
    """A T-score given as a component of the BMD observation itself."""
    for comp in obs.get("component", []) if isinstance(obs.get("component"), list) else []:
        if codes_in(comp.get("code"), codes.LOINC) & set(codes.DXA_TSCORE_SITE):
            qty = quantity(comp)
            if qty is not None:
                return round(qty[0], 1)
    return None


@dataclass
class DxaObservations:
    """The patient's DXA observations: those with a BMD, those with a T-score
    only, and which of the latter were matched to a BMD."""

    bmd: list[tuple[JSON, str]] = field(default_factory=list)
    tscores: list[tuple[JSON, str]] = field(default_factory=list)
    used_t: set[int] = field(default_factory=set)

    def t_score_for(self, rec: PatientRecord, site: str, obs: JSON) -> float | None:
        """The T-score of a separate observation of the same site and day, used once."""
        day = fhir_date(obs.get("effectiveDateTime"), rec.tz)
        for t_obs, t_site in self.tscores:
            same_day = fhir_date(t_obs.get("effectiveDateTime"), rec.tz) == day
            if same_day and dxa_site(t_site, t_obs) == site and id(t_obs) not in self.used_t:
                t_qty = quantity(t_obs)
                if t_qty is not None:
                    self.used_t.add(id(t_obs))
                    return round(t_qty[0], 1)
        return None


def _dxa_observations(rec: PatientRecord) -> DxaObservations:
    found = DxaObservations()
    for obs in rec.of("Observation"):
        if obs.get("status") in WITHDRAWN:
            continue
        for code in codes_in(obs.get("code"), codes.LOINC):
            if code in codes.DXA_BMD_SITE:
                found.bmd.append((obs, codes.DXA_BMD_SITE[code]))
                break
            if code in codes.DXA_TSCORE_SITE:
                found.tscores.append((obs, codes.DXA_TSCORE_SITE[code]))
                break
    return found


def _scan_data(rec: PatientRecord, obs: JSON, site: str, dxa: DxaObservations) -> JSON | None:
    """The scan to record from one BMD observation, or None (reported)."""
    day = fhir_date(obs.get("effectiveDateTime"), rec.tz)
    qty = quantity(obs)
    if day is None or qty is None:
        rec.out.skip(f"{rec.label}: DXA observation without date or value; skipped")
        return None
    if rec.future(day, "DXA"):
        return None
    value, unit = qty
    if unit.lower().startswith("mg"):
        value = value / 1000  # mg/cm2 -> g/cm2
    t_score = component_t_score(obs)
    if t_score is None:
        t_score = dxa.t_score_for(rec, site, obs)
    return {"performed_date": day, "site": site, "bmd_g_cm2": round(value, 3), "t_score": t_score}


def _report_lone_t_scores(rec: PatientRecord, dxa: DxaObservations) -> None:
    for t_obs, _site in dxa.tscores:
        if id(t_obs) in dxa.used_t:
            continue
        day = fhir_date(t_obs.get("effectiveDateTime"), rec.tz)
        t_qty = quantity(t_obs)
        # (+ 0.0 turns a rounded -0.0 into 0.0)
        shown = f"{round(t_qty[0], 1) + 0.0:.1f}" if t_qty else "?"
        rec.out.skip(
            f"{rec.label}: DXA on {day} has a T-score ({shown}) but no BMD in g/cm2 and no "
            "vcftrack site; not imported (vcftrack needs the BMD to track the yearly change)"
        )


def import_bone_density(rec: PatientRecord, patient: Patient) -> None:
    dxa = _dxa_observations(rec)
    ids = {id(o): rec.row_id("Observation", str(o.get("id"))) for o, _ in dxa.bmd}
    existing = set(BoneDensity.objects.filter(id__in=ids.values()).values_list("id", flat=True))
    for obs, raw_site in dxa.bmd:
        row_id = ids[id(obs)]
        if row_id in existing:
            rec.out.unchanged["bone-density scans"] += 1
            continue
        site = dxa_site(raw_site, obs)
        data = _scan_data(rec, obs, site, dxa)
        if data is None:
            continue
        found = FieldErrors()
        values = parse_bone_density(data, found)
        rec.write(
            "bone-density scans",
            f"DXA {site} on {data['performed_date']}",
            partial(
                bone_density_record,
                patient=patient,
                **values,
                now=rec.now,
                scan_id=row_id,
                errors=found,
            ),
        )
    _report_lone_t_scores(rec, dxa)
