"""Import FHIR R4 bundles (Synthea's patient bundles and the like) into vcftrack.

What becomes what (docs/fhir.md has the codes):

- Patient -> patient (MRN from the ``MR`` identifier, else Synthea's id).
  Only patients with an osteoporosis-related record are imported unless
  ``all_patients`` is set: a fracture-liaison panel is not a copy of the EHR.
- A vertebral fracture Condition -> an episode, *only when the record names
  the vertebral level(s)* (Condition.bodySite: SNOMED vertebra codes or text
  such as "L1"). vcftrack's pathway depends on the level (nerve root block at
  L3/L4, augmentation at the fractured level), so an episode is never created
  with a guessed level: a vertebral fracture without a level is skipped and
  reported, for someone to enter by hand from the imaging report. Synthea's
  "Pathological fracture due to osteoporosis" comes with a second condition
  naming the bone (hip, forearm, wrist, ankle, clavicle, rib): those are not
  vertebral and become no episode (reported).
- An osteoporosis Condition makes the patient relevant and marks their
  vertebral fractures as osteoporotic; vcftrack keeps no diagnosis list.
- DXA Observations with a BMD value (g/cm2) -> bone-density scans, with the
  T-score when one is given for the same site and day. A T-score alone
  (Synthea records only that) is skipped and reported: vcftrack needs the BMD.
- Patient.deceasedDateTime -> the patient's date of death (also filled in on
  a patient imported earlier without it).
- MedicationRequest / MedicationStatement of an anti-osteoporosis drug or
  calcitonin -> medications; other drugs are not imported. A running
  prescription whose latest evidence (the prescription itself, a later
  request, statement, administration, dispense or dated note for the same
  drug) is more than 12 months before the import date is imported
  ``unverified`` (pathway-spec V2.4): someone must confirm it.
- Pain scores (LOINC 72514-3) within a year of an imported episode's onset ->
  pain observations on that episode.

Idempotent: every row's id is ``uuid5`` of the clinic and the FHIR resource it
came from, and a row that already exists (even deleted) is left alone, so
re-importing a file changes nothing. One transaction per bundle: a file that
fails leaves nothing behind. Dates after the import date are skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction

from pathways.engine.dates import add_months
from pathways.fhir import codes
from pathways.levels import LEVELS
from pathways.models import Episode, Observation
from patients.models import ANTI_OSTEOPOROSIS, BoneDensity, Clinic, Medication, Patient
from vcftrack.core.errors import DomainError

JSON = dict[str, Any]

# Namespace of the ids of imported rows: uuid5(IMPORT_NAMESPACE, clinic/resource).
IMPORT_NAMESPACE = uuid.UUID("0b5e1f3e-8f0a-4d38-9a57-3c1f6e2d4b90")
IMPORTED_DRUGS = ANTI_OSTEOPOROSIS | {"calcitonin"}
PAIN_WINDOW = timedelta(days=365)
# pathway-spec V2.4: a prescription with no evidence in the 12 months before
# the import is imported unverified.
UNVERIFIED_AFTER_MONTHS = 12
# Every resource that shows a drug was prescribed, taken or handed out, with
# the fields holding its dates (and any dated note on it).
_TAKEN = ("effectivePeriod.end", "effectivePeriod.start", "effectiveDateTime")
MEDICATION_EVIDENCE: dict[str, tuple[str, ...]] = {
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": _TAKEN,
    "MedicationAdministration": _TAKEN,
    "MedicationDispense": ("whenHandedOver", "whenPrepared"),
}
LEVEL_TEXT = re.compile(r"\b([TL])\s?(\d{1,2})\b", re.IGNORECASE)
STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(MG|MCG|UNT|IU)\b", re.IGNORECASE)


class BundleError(Exception):
    """The file cannot be imported at all (unreadable, not JSON, not a Bundle)."""


# ------------------------------------------------------------------ report --
@dataclass
class ImportReport:
    files: int = 0
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    KINDS = (
        "patients",
        "dates of death",
        "episodes",
        "medications",
        "bone-density scans",
        "observations",
    )

    def summary_lines(self) -> list[str]:
        lines = [f"{self.files} file(s) read"]
        for kind in self.KINDS:
            lines.append(
                f"{kind}: {self.created.get(kind, 0)} created, "
                f"{self.unchanged.get(kind, 0)} already imported (unchanged)"
            )
        lines.append(f"skipped: {len(self.skipped)}; files with errors: {len(self.errors)}")
        return lines


@dataclass
class _Bundle:
    """One file's work, kept apart so a failed file adds nothing to the report."""

    name: str
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: list[str] = field(default_factory=list)

    def skip(self, message: str) -> None:
        self.skipped.append(f"{self.name}: {message}")


# ----------------------------------------------------------------- reading --
def load_bundle(path: Path) -> JSON:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"cannot read the file ({exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        kind = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise BundleError(f"not a FHIR Bundle (resourceType is {kind!r})")
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise BundleError("Bundle.entry is not a list")
    return data


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a directory stands for the *.json files in it (sorted)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(path.glob("*.json")))
        else:
            out.append(path)
    return out


# ----------------------------------------------------------------- helpers --
def _codings(concept: Any) -> list[JSON]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict)]


def _codes(concept: Any, system: str) -> set[str]:
    return {str(c.get("code")) for c in _codings(concept) if c.get("system") == system}


def _texts(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    parts = [str(concept.get("text", ""))]
    parts += [str(c.get("display", "")) for c in _codings(concept)]
    return " ".join(p for p in parts if p)


def _label(concept: Any) -> str:
    """What a person would call the concept: its text, else the first display."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    displays = [str(c["display"]) for c in _codings(concept) if c.get("display")]
    return displays[0] if displays else ""


def _ref_id(ref: Any) -> str:
    """The id part of a reference: 'urn:uuid:X', 'Patient/X' or 'http://…/Patient/X'."""
    if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
        return ""
    value: str = ref["reference"]
    if value.startswith("urn:uuid:"):
        return value[len("urn:uuid:") :]
    return value.rstrip("/").rsplit("/", 1)[-1]


def _fhir_date(value: Any, tz: ZoneInfo) -> date | None:
    """A FHIR date/dateTime as a date in the clinic's zone; None if absent or partial."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(tz).date()


def _path(resource: JSON, dotted: str) -> Any:
    """resource["a"]["b"] for "a.b"; None where a step is missing."""
    value: Any = resource
    for step in dotted.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    return value


def _levels(concepts: Any) -> list[str]:
    """Vertebral levels named by Condition.bodySite (SNOMED codes or text)."""
    found: list[str] = []
    for concept in concepts if isinstance(concepts, list) else []:
        for code in _codes(concept, codes.SNOMED):
            level = codes.LEVEL_BY_VERTEBRA_SNOMED.get(code)
            if level:
                found.append(level)
        for letter, number in LEVEL_TEXT.findall(_texts(concept)):
            level = f"{letter.upper()}{int(number)}"
            if level in LEVELS:
                found.append(level)
    return sorted(set(found), key=LEVELS.index)


def _row_id(clinic: Clinic, kind: str, key: str) -> uuid.UUID:
    return uuid.uuid5(IMPORT_NAMESPACE, f"{clinic.id}/{kind}/{key}")


def _quantity(resource: JSON) -> tuple[float, str] | None:
    qty = resource.get("valueQuantity")
    if not isinstance(qty, dict) or not isinstance(qty.get("value"), int | float):
        return None
    unit = str(qty.get("code") or qty.get("unit") or "")
    return float(qty["value"]), unit


# ---------------------------------------------------------------- patients --
def _mrn(patient: JSON) -> str:
    identifiers = [i for i in patient.get("identifier", []) if isinstance(i, dict)]
    for ident in identifiers:
        if "MR" in _codes(ident.get("type"), codes.V2_0203) and ident.get("value"):
            return str(ident["value"])
    for ident in identifiers:
        if "synthea" in str(ident.get("system", "")) and ident.get("value"):
            return str(ident["value"])
    return str(patient.get("id", ""))


def _name(patient: JSON) -> tuple[str, str]:
    names = [n for n in patient.get("name", []) if isinstance(n, dict)]
    official = [n for n in names if n.get("use") == "official"] or names
    if not official:
        return "", ""
    name = official[0]
    given = " ".join(str(g) for g in name.get("given", []) if g)
    return given, str(name.get("family", ""))


SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


# --------------------------------------------------------------- importing --
class _PatientImport:
    """Imports one patient and the resources that refer to them."""

    def __init__(
        self,
        *,
        clinic: Clinic,
        now: datetime,
        out: _Bundle,
        patient: JSON,
        resources: list[JSON],
    ) -> None:
        self.clinic = clinic
        self.now = now
        self.today = clinic.today(now)
        self.tz = clinic.tzinfo
        self.out = out
        self.resource = patient
        self.resources = resources
        given, family = _name(patient)
        self.label = f"{given} {family}".strip() or f"Patient/{patient.get('id')}"

    # -- helpers --
    def _of(self, kind: str) -> list[JSON]:
        return [r for r in self.resources if r.get("resourceType") == kind]

    def _future(self, day: date, what: str) -> bool:
        if day > self.today:
            self.out.skip(
                f"{self.label}: {what} dated {day} is after the import date {self.today}; skipped"
            )
            return True
        return False

    def _write(self, kind: str, what: str, write: Any) -> Any:
        """Run one service call in a savepoint; a refusal skips that item only."""
        try:
            with transaction.atomic():
                row = write()
        except ValidationError as exc:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            self.out.skip(f"{self.label}: {what} refused by vcftrack ({detail})")
            return None
        except DomainError as exc:
            self.out.skip(f"{self.label}: {what} refused by vcftrack ({exc.message})")
            return None
        self.out.created[kind] += 1
        return row

    # -- structure --
    def check(self) -> None:
        """Validate every resource the import reads against the FHIR R4(B) models.

        Runs before anything is written, so a malformed resource fails its
        file with a message naming it, instead of half-importing the bundle.
        """
        from fhir.resources.R4B import get_fhir_model_class
        from pydantic import ValidationError as ModelError

        wanted = (
            [self.resource]
            + [c for c in self._conditions() if _codes(c.get("code"), codes.SNOMED) & EVENT_CODES]
            + [
                o
                for o in self._of("Observation")
                if _codes(o.get("code"), codes.LOINC) & READ_LOINC
            ]
            + [m for m in self._medications() if self._drug(m)]
        )
        for resource in wanted:
            kind = str(resource.get("resourceType"))
            try:
                get_fhir_model_class(kind).model_validate(resource)
            except ModelError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                raise BundleError(
                    f"{kind}/{resource.get('id')} is not valid FHIR R4: {where}: {first['msg']}"
                ) from exc

    # -- what makes the patient relevant --
    def _conditions(self) -> list[JSON]:
        out = []
        for cond in self._of("Condition"):
            status = _codes(cond.get("verificationStatus"), codes.CONDITION_VER_STATUS)
            if status & {"entered-in-error", "refuted"}:
                continue
            out.append(cond)
        return out

    def relevant(self) -> bool:
        for cond in self._conditions():
            found = _codes(cond.get("code"), codes.SNOMED)
            if found & (
                {codes.OSTEOPOROSIS_SNOMED, codes.OSTEOPOROTIC_FRACTURE_SNOMED[0]}
                | set(codes.VERTEBRAL_FRACTURE_SNOMED)
            ):
                return True
        for obs in self._of("Observation"):
            if _codes(obs.get("code"), codes.LOINC) & (
                set(codes.DXA_BMD_SITE) | set(codes.DXA_TSCORE_SITE)
            ):
                return True
        return any(self._drug(med) for med in self._medications())

    # -- patient --
    def patient(self) -> Patient | None:
        """The patient row: created, found from an earlier import, or None (skipped)."""
        mrn = _mrn(self.resource)
        pid = _row_id(self.clinic, "Patient", f"mrn:{mrn}")
        existing = Patient.objects.filter(id=pid).select_related("clinic").first()
        if existing is not None:
            if existing.deleted_at is not None:
                self.out.skip(f"{self.label}: deleted in vcftrack; not re-created")
                return None
            self.out.unchanged["patients"] += 1
            self.record_death(existing)
            return existing
        clash = Patient.objects.alive().filter(clinic=self.clinic, mrn=mrn).exists()
        if clash:
            # Someone entered this MRN by hand: merging records is a person's call.
            self.out.skip(
                f"{self.label}: MRN {mrn} already exists in {self.clinic.code} (not from this "
                "import); bundle not merged into it"
            )
            return None
        given, family = _name(self.resource)
        birth = self.resource.get("birthDate")
        death = self.death_date(birth=_fhir_date(birth, self.tz))
        from patients.services import patient_create

        created: Patient | None = self._write(
            "patients",
            "patient",
            lambda: patient_create(
                clinic=self.clinic,
                mrn=mrn,
                given_name=given,
                family_name=family,
                birth_date=birth,
                sex=SEX.get(str(self.resource.get("gender")), "unknown"),
                deceased_date=death,
                now=self.now,
                patient_id=pid,
            ),
        )
        if created is not None and death is not None:
            self.out.created["dates of death"] += 1
        return created

    def death_date(self, *, birth: date | None) -> date | None:
        """Patient.deceasedDateTime as a date; a date vcftrack would refuse is reported.

        Reported rather than refused with the patient: the rest of the record
        is still worth importing, and a person can enter the date.
        """
        raw = self.resource.get("deceasedDateTime")
        death = _fhir_date(raw, self.tz)
        if death is None:
            if raw is not None or self.resource.get("deceasedBoolean") is True:
                self.out.skip(
                    f"{self.label}: recorded as deceased without a full date of death; "
                    "imported without one (enter the date by hand)"
                )
            return None
        if death > self.today:
            self._future(death, "date of death")
            return None
        if birth is not None and death < birth:
            self.out.skip(
                f"{self.label}: date of death {death} is before the birth date {birth}; "
                "not imported"
            )
            return None
        return death

    def record_death(self, patient: Patient) -> None:
        """Fill in the date of death of a patient imported before it was known."""
        death = self.death_date(birth=patient.birth_date)
        if death is None:
            return
        if patient.deceased_date is not None:
            # Already known (perhaps corrected by a person): left alone.
            self.out.unchanged["dates of death"] += 1
            return
        from pathways.services.patient_facts import patient_record_death

        self._write(
            "dates of death",
            f"date of death {death}",
            lambda: patient_record_death(
                patient=patient, deceased_date=death, actor=None, now=self.now
            ),
        )

    # -- medications --
    def _medications(self) -> list[JSON]:
        return self._of("MedicationRequest") + self._of("MedicationStatement")

    def _drug(self, med: JSON) -> str | None:
        concept = med.get("medicationCodeableConcept")
        for code in _codes(concept, codes.RXNORM):
            if code in codes.RXNORM_DRUG:
                return codes.RXNORM_DRUG[code]
        text = _texts(concept).lower()
        for needle, drug in codes.DRUG_NAME_PATTERNS:
            if needle in text:
                return drug if drug in IMPORTED_DRUGS else None
        return None

    def latest_evidence(self) -> dict[str, date]:
        """Per drug, the latest date (not after the import date) on which a
        resource shows it was prescribed, taken, handed out or noted."""
        latest: dict[str, date] = {}
        for resource in self.resources:
            paths = MEDICATION_EVIDENCE.get(str(resource.get("resourceType")))
            if paths is None:
                continue
            if str(resource.get("status", "")) in {"entered-in-error", "cancelled", "not-taken"}:
                continue
            drug = self._drug(resource)
            if drug is None:
                continue
            found = [_fhir_date(_path(resource, p), self.tz) for p in paths]
            notes = resource.get("note")
            for note in notes if isinstance(notes, list) else []:
                found.append(
                    _fhir_date(note.get("time"), self.tz) if isinstance(note, dict) else None
                )
            for day in found:
                if day is not None and day <= self.today and day > latest.get(drug, date.min):
                    latest[drug] = day
        return latest

    def medications(self, patient: Patient) -> None:
        meds = [(m, self._drug(m)) for m in self._medications()]
        meds = [(m, d) for m, d in meds if d]
        ids = {id(m): _row_id(self.clinic, m["resourceType"], str(m["id"])) for m, _ in meds}
        existing = set(Medication.objects.filter(id__in=ids.values()).values_list("id", flat=True))
        death = patient.deceased_date
        evidence = self.latest_evidence() if meds else {}
        stale_before = add_months(self.today, -UNVERIFIED_AFTER_MONTHS)
        from pathways.services.patient_facts import medication_record

        for med, drug in meds:
            row_id = ids[id(med)]
            label = _label(med.get("medicationCodeableConcept")) or str(drug)
            if row_id in existing:
                self.out.unchanged["medications"] += 1
                continue
            status = str(med.get("status", ""))
            if status in {"entered-in-error", "cancelled", "draft", "not-taken"}:
                self.out.skip(f"{self.label}: {label} has status {status}; not imported")
                continue
            if med["resourceType"] == "MedicationRequest":
                start = _fhir_date(med.get("authoredOn"), self.tz)
                stop = None
            else:
                period = med.get("effectivePeriod") or {}
                start = _fhir_date(period.get("start") or med.get("effectiveDateTime"), self.tz)
                stop = _fhir_date(period.get("end"), self.tz)
            if start is None:
                self.out.skip(f"{self.label}: {label} has no start date; not imported")
                continue
            if stop is None and status in {"stopped", "completed"}:
                # Importing it as running would claim treatment that ended.
                self.out.skip(
                    f"{self.label}: {label} from {start} is {status} on an unknown date; "
                    "not imported"
                )
                continue
            if self._future(start, label):
                continue
            if stop is not None and stop > self.today:
                stop = None  # a planned end date: the drug is still running today
            if stop is None and death is not None and death >= start:
                stop = death  # nobody takes a drug after death
            dosage = med.get("dosageInstruction") or med.get("dosage") or []
            dose_text = ""
            route = ""
            if dosage and isinstance(dosage[0], dict):
                dose_text = str(dosage[0].get("text", ""))
                route_text = _texts(dosage[0].get("route")).lower()
                route = _route(route_text)
            if not dose_text:
                match = STRENGTH.search(label)
                dose_text = f"{match.group(1)} {match.group(2).lower()}" if match else ""
            route = route or _route(label.lower())
            data = {
                "drug": drug,
                "start_date": start,
                "stop_date": stop,
                "dose": dose_text[:100],
                "route": route,
            }
            # Only a running prescription claims anything about today; one
            # that ended (or ended at death) is history, not in doubt.
            unverified = stop is None and evidence.get(str(drug), start) < stale_before
            self._write(
                "medications",
                f"{label} from {start}",
                lambda data=data, row_id=row_id, unverified=unverified: medication_record(
                    patient=patient,
                    data=data,
                    now=self.now,
                    medication_id=row_id,
                    unverified=unverified,
                ),
            )

    # -- bone density --
    def bone_density(self, patient: Patient) -> None:
        bmd: list[tuple[JSON, str]] = []
        tscores: list[tuple[JSON, str]] = []
        for obs in self._of("Observation"):
            if obs.get("status") in {"entered-in-error", "cancelled"}:
                continue
            loinc = _codes(obs.get("code"), codes.LOINC)
            for code in loinc:
                if code in codes.DXA_BMD_SITE:
                    bmd.append((obs, codes.DXA_BMD_SITE[code]))
                    break
                if code in codes.DXA_TSCORE_SITE:
                    tscores.append((obs, codes.DXA_TSCORE_SITE[code]))
                    break
        ids = {id(o): _row_id(self.clinic, "Observation", str(o.get("id"))) for o, _ in bmd}
        existing = set(BoneDensity.objects.filter(id__in=ids.values()).values_list("id", flat=True))
        used_t: set[int] = set()
        from pathways.services.patient_facts import bone_density_record

        for obs, raw_site in bmd:
            row_id = ids[id(obs)]
            day = _fhir_date(obs.get("effectiveDateTime"), self.tz)
            if row_id in existing:
                self.out.unchanged["bone-density scans"] += 1
                continue
            site = _dxa_site(raw_site, obs)
            qty = _quantity(obs)
            if day is None or qty is None:
                self.out.skip(f"{self.label}: DXA observation without date or value; skipped")
                continue
            if self._future(day, "DXA"):
                continue
            value, unit = qty
            if unit.lower().startswith("mg"):
                value = value / 1000  # mg/cm2 -> g/cm2
            t_score = _component_t_score(obs)
            if t_score is None:
                for t_obs, t_site in tscores:
                    same_day = _fhir_date(t_obs.get("effectiveDateTime"), self.tz) == day
                    if same_day and _dxa_site(t_site, t_obs) == site and id(t_obs) not in used_t:
                        t_qty = _quantity(t_obs)
                        if t_qty is not None:
                            t_score = round(t_qty[0], 1)
                            used_t.add(id(t_obs))
                            break
            data = {
                "performed_date": day,
                "site": site,
                "bmd_g_cm2": round(value, 3),
                "t_score": t_score,
            }
            self._write(
                "bone-density scans",
                f"DXA {site} on {day}",
                lambda data=data, row_id=row_id: bone_density_record(
                    patient=patient, data=data, now=self.now, scan_id=row_id
                ),
            )
        for t_obs, _site in tscores:
            if id(t_obs) in used_t:
                continue
            day = _fhir_date(t_obs.get("effectiveDateTime"), self.tz)
            t_qty = _quantity(t_obs)
            # (+ 0.0 turns a rounded -0.0 into 0.0)
            shown = f"{round(t_qty[0], 1) + 0.0:.1f}" if t_qty else "?"
            self.out.skip(
                f"{self.label}: DXA on {day} has a T-score ({shown}) but no BMD in g/cm2 and no "
                "vcftrack site; not imported (vcftrack needs the BMD to track the yearly change)"
            )

    # -- fractures -> episodes --
    def episodes(self, patient: Patient) -> list[Episode]:
        """Create an episode per vertebral fracture that names its level(s)."""
        conditions = self._conditions()
        osteoporosis_on = [
            d
            for c in conditions
            if codes.OSTEOPOROSIS_SNOMED in _codes(c.get("code"), codes.SNOMED)
            for d in [_fhir_date(c.get("onsetDateTime"), self.tz)]
            if d is not None
        ]
        # Conditions recorded in the same encounter describe the same event
        # (Synthea: 443165006 + the bone that broke).
        events: dict[str, list[JSON]] = defaultdict(list)
        for cond in conditions:
            found = _codes(cond.get("code"), codes.SNOMED)
            key = _ref_id(cond.get("encounter")) or f"{cond.get('onsetDateTime')}"
            if found & (
                {codes.OSTEOPOROTIC_FRACTURE_SNOMED[0]}
                | set(codes.VERTEBRAL_FRACTURE_SNOMED)
                | set(codes.NON_VERTEBRAL_FRACTURE_SNOMED)
            ):
                events[key].append(cond)
        created: list[Episode] = []
        from pathways.services import episode_create

        for group in events.values():
            all_codes = set().union(*(_codes(c.get("code"), codes.SNOMED) for c in group))
            osteoporotic = codes.OSTEOPOROTIC_FRACTURE_SNOMED[0] in all_codes
            vertebral = [
                c
                for c in group
                if _codes(c.get("code"), codes.SNOMED) & set(codes.VERTEBRAL_FRACTURE_SNOMED)
            ]
            levels = _levels([s for c in group for s in c.get("bodySite", [])])
            if not osteoporotic and not vertebral:
                continue  # a plain non-vertebral fracture: not this tracker's business
            main = (vertebral or group)[0]
            onset = _fhir_date(main.get("onsetDateTime"), self.tz)
            what = f"fracture on {onset} ({' + '.join(_label(c.get('code')) for c in group)})"
            if not vertebral and not levels:
                bones = sorted(
                    {
                        codes.NON_VERTEBRAL_FRACTURE_SNOMED[code]
                        for code in all_codes
                        if code in codes.NON_VERTEBRAL_FRACTURE_SNOMED
                    }
                )
                where = f"of the {', '.join(bones)}" if bones else "at an unrecorded site"
                self.out.skip(
                    f"{self.label}: {what}: osteoporotic fracture {where}, not vertebral; "
                    "no VCF episode"
                )
                continue
            row_id = _row_id(self.clinic, "Condition", str(main.get("id")))
            if Episode.objects.filter(id=row_id).exists():
                self.out.unchanged["episodes"] += 1
                continue
            if not levels:
                self.out.skip(
                    f"{self.label}: {what}: vertebral fracture without a vertebral level; "
                    "no episode created (enter it by hand with the level from the imaging report)"
                )
                continue
            if onset is None:
                self.out.skip(f"{self.label}: {what}: no onset date; no episode created")
                continue
            if self._future(onset, "vertebral fracture"):
                continue
            recorded = _fhir_date(main.get("recordedDate"), self.tz)
            identified = recorded if recorded and onset <= recorded <= self.today else onset
            cord = bool(all_codes & codes.VERTEBRAL_FRACTURE_WITH_CORD_INJURY)
            etiology = (
                "osteoporotic"
                if osteoporotic or any(d <= onset for d in osteoporosis_on)
                else "unknown"
            )
            data = {
                "levels": levels,
                "onset_date": onset,
                "identified_date": identified,
                "etiology": etiology,
                "neuro_status": "deficit" if cord else "unknown",
            }
            episode = self._write(
                "episodes",
                what,
                lambda data=data, row_id=row_id: episode_create(
                    patient=patient, data=data, now=self.now, episode_id=row_id
                ),
            )
            if episode is not None:
                created.append(episode)
        return created

    def pain_scores(self, episodes: list[Episode]) -> None:
        """Pain scores within a year of an episode's onset, on the latest such episode."""
        if not episodes:
            return
        from pathways.services import fact_record

        ordered = sorted(episodes, key=lambda e: e.onset_date)
        candidates: list[tuple[JSON, Episode, date, float]] = []
        for obs in self._of("Observation"):
            if codes.PAIN_NRS_LOINC[0] not in _codes(obs.get("code"), codes.LOINC):
                continue
            if obs.get("status") in {"entered-in-error", "cancelled"}:
                continue
            day = _fhir_date(obs.get("effectiveDateTime"), self.tz)
            qty = _quantity(obs)
            if day is None or qty is None:
                continue
            owner = None
            for episode in ordered:
                if episode.onset_date <= day <= episode.onset_date + PAIN_WINDOW:
                    owner = episode
            if owner is not None:
                candidates.append((obs, owner, day, qty[0]))
        ids = {
            id(obs): _row_id(self.clinic, "Observation", str(obs.get("id")))
            for obs, *_ in candidates
        }
        existing = set(Observation.objects.filter(id__in=ids.values()).values_list("id", flat=True))
        for obs, episode, day, value in candidates:
            row_id = ids[id(obs)]
            if row_id in existing:
                self.out.unchanged["observations"] += 1
                continue
            if self._future(day, "pain score"):
                continue
            data = {"kind": "pain_nrs", "value": value, "effective_date": day}
            self._write(
                "observations",
                f"pain score on {day}",
                lambda data=data, row_id=row_id, episode=episode: fact_record(
                    episode=episode, kind="observation", data=data, now=self.now, fact_id=row_id
                ),
            )

    def close_if_deceased(self, patient: Patient, episodes: list[Episode]) -> None:
        death = patient.deceased_date
        if death is None:
            return
        from pathways.services import episode_close

        for episode in episodes:
            # A follow-up pathway for a patient who has died would only fill
            # the worklist: the new episode is closed, saying why.
            episode_close(
                episode=episode,
                reason="deceased",
                now=self.now,
                note=f"patient died on {death} (FHIR import)",
            )

    def run(self) -> None:
        patient = self.patient()
        if patient is None:
            return
        self.medications(patient)
        self.bone_density(patient)
        # Episodes last, so their first evaluation sees the drugs and scans.
        episodes = self.episodes(patient)
        self.pain_scores(episodes)
        self.close_if_deceased(patient, episodes)


EVENT_CODES = (
    {codes.OSTEOPOROSIS_SNOMED, codes.OSTEOPOROTIC_FRACTURE_SNOMED[0]}
    | set(codes.VERTEBRAL_FRACTURE_SNOMED)
    | set(codes.NON_VERTEBRAL_FRACTURE_SNOMED)
)
READ_LOINC = set(codes.DXA_BMD_SITE) | set(codes.DXA_TSCORE_SITE) | {codes.PAIN_NRS_LOINC[0]}


def _route(text: str) -> str:
    for needle, route in (
        ("oral", "oral"),
        ("nasal", "nasal"),
        ("subcutaneous", "subcutaneous"),
        ("intravenous", "intravenous"),
        ("intramuscular", "intramuscular"),
    ):
        if needle in text:
            return route
    return ""


def _dxa_site(raw: str, obs: JSON) -> str:
    if raw != "femur":
        return raw
    text = (_texts(obs.get("code")) + " " + _texts(obs.get("bodySite"))).lower()
    return "femoral_neck" if "neck" in text else "total_hip"


def _component_t_score(obs: JSON) -> float | None:
    for comp in obs.get("component", []) if isinstance(obs.get("component"), list) else []:
        if _codes(comp.get("code"), codes.LOINC) & set(codes.DXA_TSCORE_SITE):
            qty = _quantity(comp)
            if qty is not None:
                return round(qty[0], 1)
    return None


def _resources(bundle: JSON) -> Iterator[JSON]:
    for entry in bundle.get("entry", []):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            resource: JSON = entry["resource"]
            if not resource.get("id"):
                # Rows are keyed on the resource id: without one, the entry's
                # fullUrl, else a digest of the content, keeps re-imports stable.
                full_url = str(entry.get("fullUrl") or "")
                resource["id"] = (
                    _ref_id({"reference": full_url})
                    or hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()[
                        :40
                    ]
                )
            yield resource


def _by_patient(bundle: JSON) -> list[tuple[JSON, list[JSON]]]:
    """Each Patient with the resources that refer to it."""
    resources = list(_resources(bundle))
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    owned: dict[str, list[JSON]] = defaultdict(list)
    for res in resources:
        ref = res.get("subject") or res.get("patient")
        owned[_ref_id(ref)].append(res)
    return [(p, owned.get(str(p.get("id")), [])) for p in patients]


def import_bundle(
    bundle: JSON,
    *,
    clinic: Clinic,
    now: datetime,
    name: str,
    all_patients: bool = False,
) -> _Bundle:
    """Import one parsed Bundle in one transaction; returns what it did."""
    out = _Bundle(name=name)
    patients = _by_patient(bundle)
    if not patients:
        out.skip("no Patient resource (e.g. a practitioner bundle); nothing to import")
        return out
    jobs = []
    for patient, resources in patients:
        job = _PatientImport(clinic=clinic, now=now, out=out, patient=patient, resources=resources)
        if not all_patients and not job.relevant():
            out.skip(
                f"{job.label}: no osteoporosis-related record; not imported "
                "(--all-patients imports everyone)"
            )
            continue
        job.check()
        jobs.append(job)
    with transaction.atomic():
        for job in jobs:
            job.run()
    return out


def import_paths(
    paths: Iterable[str | Path],
    *,
    clinic: Clinic,
    now: datetime,
    all_patients: bool = False,
) -> ImportReport:
    """Import every file; a bad file is reported by name and leaves nothing behind."""
    report = ImportReport()
    for path in expand_paths(paths):
        report.files += 1
        try:
            bundle = load_bundle(path)
            done = import_bundle(
                bundle, clinic=clinic, now=now, name=path.name, all_patients=all_patients
            )
        except BundleError as exc:
            report.errors.append(f"{path}: {exc}")
            continue
        except Exception as exc:
            # Anything unexpected inside a bundle rolls the whole file back
            # (one transaction per bundle); the other files still import.
            report.errors.append(f"{path}: import failed, nothing written ({exc!r})")
            continue
        for kind, count in done.created.items():
            report.created[kind] += count
        for kind, count in done.unchanged.items():
            report.unchanged[kind] += count
        report.skipped.extend(done.skipped)
    return report
