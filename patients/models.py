"""Clinics, memberships, patients and the patient-level facts.

Every mutable record a REST client syncs inherits ``SyncedModel``: a uuid, a
``version`` (for ETag / If-Match), ``updated_at``, a soft-delete tombstone and
``change_seq`` (a monotonic number in commit order, see ``patients.sync``).
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

# The drug classes live once, in plain Python (shared with the pure engine).
from patients.drugs import ANALGESICS as ANALGESICS
from patients.drugs import ANTI_OSTEOPOROSIS as ANTI_OSTEOPOROSIS
from patients.drugs import BISPHOSPHONATES as BISPHOSPHONATES
from patients.drugs import drug_class
from vcftrack.core.scoping import Role, clinic_today

# Change history (django-simple-history): the columns people change, not the
# sync bookkeeping that moves with every write.
HISTORY_EXCLUDED = ["version", "updated_at", "change_seq"]


def tracked_history(*, also_excluded: tuple[str, ...] = ()) -> Any:
    return HistoricalRecords(excluded_fields=[*HISTORY_EXCLUDED, *also_excluded])


class SyncedQuerySet(models.QuerySet[Any]):
    def alive(self) -> SyncedQuerySet:
        return self.filter(deleted_at__isnull=True)


class SyncedModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Position in the global change log; assigned last in the writing
    # transaction while holding the counter row lock, so the order of
    # change_seq is the order of commits (see patients/sync.py).
    change_seq = models.BigIntegerField(default=0, db_index=True)
    # The date the record was entered: the database checks that no clinical
    # date of the record lies after it ("dates not in the future").
    recorded_on = models.DateField()

    class Meta:
        abstract = True


class Voidable(models.Model):
    """A recorded fact that can be voided (a mistyped entry): the row becomes a
    tombstone (``deleted_at``) and keeps why, so the record shows what was
    corrected and the engine re-evaluates without it."""

    void_reason = models.TextField(blank=True, default="")

    class Meta:
        abstract = True


class ChangeCounter(models.Model):
    """One row: the last change_seq handed out."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="change_counter_single_row")]

    def __str__(self) -> str:
        return f"change_seq {self.value}"


def _validate_tz(value: str) -> None:
    from django.core.exceptions import ValidationError

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {value!r}") from exc


class Clinic(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    # Due dates are dates in the clinic's zone (design.md, "Time").
    timezone = models.CharField(max_length=64, default="UTC", validators=[_validate_tz])
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self, now: datetime) -> date:
        """The clinic's calendar date at the instant ``now``."""
        return clinic_today(self.timezone, now)


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    # The clinic's lead coordinator: high-priority tasks a week overdue
    # escalate to them (notifications/escalation.py).
    lead = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "clinic"], name="membership_unique_user_clinic"
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.clinic} ({self.role})"


class Sex(models.TextChoices):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Patient(SyncedModel):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=64)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    # Set by a person or by an import (FHIR Patient.deceasedDateTime); a
    # deceased patient's pathway raises nothing more (pathway-spec V2.4).
    deceased_date = models.DateField("date of death", null=True, blank=True)
    # A follow-up list is worked by calling: the numbers and when to call.
    phone = models.CharField(max_length=32, blank=True, default="")
    phone_alt = models.CharField(max_length=32, blank=True, default="")
    contact_time = models.CharField(max_length=100, blank=True, default="")

    objects = SyncedQuerySet.as_manager()
    history = tracked_history()

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            # A tombstoned patient frees its MRN.
            models.UniqueConstraint(
                fields=["clinic", "mrn"],
                condition=Q(deleted_at__isnull=True),
                name="patient_unique_mrn_per_clinic",
            ),
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="patient_sex_valid"),
            models.CheckConstraint(
                condition=Q(birth_date__lte=F("recorded_on")), name="patient_birth_not_future"
            ),
            models.CheckConstraint(
                condition=Q(deceased_date__isnull=True) | Q(deceased_date__gte=F("birth_date")),
                name="patient_death_not_before_birth",
                violation_error_message="The date of death must not be before the date of birth.",
            ),
            models.CheckConstraint(
                condition=Q(deceased_date__isnull=True) | Q(deceased_date__lte=F("recorded_on")),
                name="patient_death_not_future",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "family_name", "given_name"]),
            models.Index(fields=["clinic", "change_seq"]),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class Drug(models.TextChoices):
    CALCITONIN = "calcitonin"
    ALENDRONATE = "alendronate"
    RISEDRONATE = "risedronate"
    IBANDRONATE = "ibandronate"
    ZOLEDRONIC_ACID = "zoledronic_acid"
    DENOSUMAB = "denosumab"
    TERIPARATIDE = "teriparatide"
    ROMOSOZUMAB = "romosozumab"
    STRONTIUM_RANELATE = "strontium_ranelate"
    NSAID = "nsaid"
    ACETAMINOPHEN = "acetaminophen"
    OPIOID = "opioid"
    CALCIUM = "calcium"
    VITAMIN_D = "vitamin_d"


class Route(models.TextChoices):
    ORAL = "oral"
    NASAL = "nasal"
    RECTAL = "rectal"
    SUBCUTANEOUS = "subcutaneous"
    INTRAMUSCULAR = "intramuscular"
    INTRAVENOUS = "intravenous"
    TRANSDERMAL = "transdermal"
    OTHER = "other"


class CoveringIndex(models.Index):
    """An index with INCLUDE columns where the database has covering indexes
    (PostgreSQL) and a plain one elsewhere, said so up front instead of
    SQLite's models.W040 ("does not support indexes with non-key columns").
    It deconstructs as ``models.Index(include=...)``: the migrations are
    unchanged."""

    def __init__(self, *args: Any, include: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.covering = tuple(include)

    def deconstruct(self) -> Any:
        _, args, kwargs = super().deconstruct()
        if self.covering:
            kwargs["include"] = self.covering
        return "django.db.models.Index", args, kwargs

    def __eq__(self, other: object) -> bool:
        # Equal to the plain Index of the migrations that it deconstructs as.
        if isinstance(other, models.Index):
            return bool(self.deconstruct() == other.deconstruct())
        return NotImplemented

    __hash__ = models.Index.__hash__

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        _, args, options = self.deconstruct()
        if not schema_editor.connection.features.supports_covering_indexes:
            options.pop("include", None)
        index = models.Index(*args, **options)
        return index.create_sql(model, schema_editor, using=using, **kwargs)


class Medication(Voidable, SyncedModel):
    # The FK's own index is replaced by the covering "alive" index below.
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="medications", db_index=False
    )
    drug = models.CharField(max_length=32, choices=Drug.choices)
    start_date = models.DateField()
    stop_date = models.DateField(null=True, blank=True)
    dose = models.CharField(max_length=100, blank=True, default="")
    route = models.CharField(max_length=16, choices=Route.choices, blank=True, default="")
    # An imported prescription with no evidence in the 12 months before the
    # import (pathway-spec V2.4): it counts as on treatment until a person
    # confirms it (medication_verify) or stops it.
    unverified = models.BooleanField(default=False, db_default=False)

    objects = SyncedQuerySet.as_manager()
    history = tracked_history()

    class Meta:
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(drug__in=Drug.values), name="medication_drug_valid"),
            models.CheckConstraint(
                condition=Q(stop_date__isnull=True) | Q(stop_date__gte=F("start_date")),
                name="medication_stop_after_start",
            ),
            models.CheckConstraint(
                condition=Q(start_date__lte=F("recorded_on")), name="medication_start_not_future"
            ),
            models.CheckConstraint(
                condition=Q(stop_date__isnull=True) | Q(stop_date__lte=F("recorded_on")),
                name="medication_stop_not_future",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "start_date"]),
            # The dashboard's per-episode drug tests (first drug, drug at 52
            # weeks) are index-only probes on this: 2-3x faster than heap
            # fetches through a patient_id index.
            CoveringIndex(
                fields=["patient", "drug"],
                include=["start_date", "stop_date"],
                condition=Q(deleted_at__isnull=True),
                name="med_alive_by_patient_drug",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug} from {self.start_date}"

    @property
    def drug_class(self) -> str:
        return drug_class(self.drug)


class DxaSite(models.TextChoices):
    LUMBAR_SPINE = "lumbar_spine"
    TOTAL_HIP = "total_hip"
    FEMORAL_NECK = "femoral_neck"


class BoneDensity(Voidable, SyncedModel):
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="bone_density", db_index=False
    )
    performed_date = models.DateField()
    site = models.CharField(max_length=16, choices=DxaSite.choices)
    bmd_g_cm2 = models.DecimalField(max_digits=5, decimal_places=3)
    t_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)

    objects = SyncedQuerySet.as_manager()
    history = tracked_history()

    class Meta:
        ordering = ["performed_date"]
        verbose_name_plural = "bone density scans"
        constraints = [
            models.CheckConstraint(condition=Q(site__in=DxaSite.values), name="dxa_site_valid"),
            # Physiological ranges: BMD 0.1-2.5 g/cm2, T-score -7..+5.
            models.CheckConstraint(
                condition=Q(bmd_g_cm2__gte=0.1, bmd_g_cm2__lte=2.5), name="dxa_bmd_range"
            ),
            models.CheckConstraint(
                condition=Q(t_score__isnull=True) | Q(t_score__gte=-7, t_score__lte=5),
                name="dxa_t_score_range",
            ),
            models.CheckConstraint(
                condition=Q(performed_date__lte=F("recorded_on")), name="dxa_not_future"
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "performed_date"]),
            # "DXA within 12 weeks" is an index-only probe on this.
            models.Index(
                fields=["patient", "performed_date"],
                condition=Q(deleted_at__isnull=True),
                name="bmd_alive_by_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"DXA {self.site} {self.performed_date}: {self.bmd_g_cm2} g/cm2"
