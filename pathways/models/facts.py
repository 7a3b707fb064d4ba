"""What is recorded on an episode: observations, imaging, procedures."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from pathways.models.episodes import Episode
from patients.models import (
    SyncedModel,
    SyncedQuerySet,
    Voidable,
    tracked_history,
)


class EpisodeFactModel(Voidable, SyncedModel):
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE)

    objects = SyncedQuerySet.as_manager()

    class Meta:
        abstract = True


class ObservationKind(models.TextChoices):
    PAIN_NRS = "pain_nrs"
    ODI = "odi"
    KYPHOSIS_PCT = "kyphosis_pct"
    SCOLIOSIS_PCT = "scoliosis_pct"
    DORSAL_WALL_LOSS_PCT = "dorsal_wall_loss_pct"
    HEIGHT_LOSS_PCT = "height_loss_pct"
    PULMONARY_DYSFUNCTION = "pulmonary_dysfunction"
    NEURO_DEFICIT = "neuro_deficit"
    NEURO_DETERIORATION = "neuro_deterioration"
    INSTABILITY = "instability"
    CANAL_COMPROMISE = "canal_compromise"
    PARENTERAL_NARCOTICS = "parenteral_narcotics"
    HOSPITAL_ADMISSION = "hospital_admission"
    PAIN_MED_CONTRAINDICATION = "pain_med_contraindication"
    WORSENING_SYMPTOMS = "worsening_symptoms"
    SYMPTOMS_CHANGED = "symptoms_changed"
    MALIGNANCY_SUSPECTED = "malignancy_suspected"
    PATHOLOGIC_CONFIRMED = "pathologic_confirmed"
    # Surgical indications of version 2 (003:71, 004:75-78).
    JUNCTIONAL_KYPHOSIS = "junctional_kyphosis"
    RETROPULSION = "retropulsion"
    PSEUDARTHROSIS = "pseudarthrosis"
    PROGRESSIVE_COLLAPSE = "progressive_collapse"
    # A Cobb angle in degrees is its own kind: never mistaken for kyphosis in %.
    COBB_ANGLE_DEG = "cobb_angle_deg"


# value ranges of the numeric kinds: (minimum, maximum), inclusive.
NUMERIC_KINDS: dict[str, tuple[float, float]] = {
    "pain_nrs": (0, 10),
    "odi": (0, 100),
    "kyphosis_pct": (0, 100),
    "scoliosis_pct": (0, 100),
    "dorsal_wall_loss_pct": (0, 100),
    "height_loss_pct": (0, 100),
    "cobb_angle_deg": (0, 180),
}
BOOLEAN_KINDS = frozenset(k for k in ObservationKind.values if k not in NUMERIC_KINDS)
# Sorted for the check constraint: a set's order changes between processes.
BOOLEAN_KINDS_SORTED = sorted(BOOLEAN_KINDS)


def _numeric_range_check() -> Q:
    q = Q(kind__in=BOOLEAN_KINDS_SORTED, value_number__isnull=True, value_bool__isnull=False)
    for kind, (low, high) in NUMERIC_KINDS.items():
        q |= Q(kind=kind, value_bool__isnull=True, value_number__gte=low, value_number__lte=high)
    return q


class Observation(EpisodeFactModel):
    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, related_name="observations", db_index=False
    )
    kind = models.CharField(max_length=32, choices=ObservationKind.choices)
    value_number = models.FloatField(null=True, blank=True)
    value_bool = models.BooleanField(null=True, blank=True)
    effective_date = models.DateField()

    history = tracked_history()

    class Meta:
        ordering = ["effective_date"]
        constraints = [
            models.CheckConstraint(
                condition=_numeric_range_check(), name="observation_value_valid"
            ),
            models.CheckConstraint(
                condition=Q(effective_date__lte=F("recorded_on")), name="observation_not_future"
            ),
        ]
        indexes = [
            models.Index(fields=["episode", "effective_date"]),
            # "Follow-up at 16 weeks" is an index-only probe on this.
            models.Index(
                fields=["episode", "effective_date"],
                condition=Q(deleted_at__isnull=True),
                name="obs_alive_by_episode",
            ),
        ]

    @property
    def value(self) -> float | bool | None:
        return self.value_bool if self.kind in BOOLEAN_KINDS else self.value_number

    def __str__(self) -> str:
        return f"{self.kind}={self.value} on {self.effective_date}"


class Modality(models.TextChoices):
    MRI = "mri"
    CT = "ct"
    XRAY = "xray"


class Imaging(EpisodeFactModel):
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="imaging")
    modality = models.CharField(max_length=8, choices=Modality.choices)
    contrast = models.BooleanField(default=False)
    region = models.CharField(max_length=64, default="spine")
    performed_date = models.DateField()
    edema = models.BooleanField(null=True, blank=True)

    history = tracked_history()

    class Meta:
        ordering = ["performed_date"]
        verbose_name_plural = "imaging"
        constraints = [
            models.CheckConstraint(
                condition=Q(modality__in=Modality.values), name="imaging_modality_valid"
            ),
            models.CheckConstraint(
                condition=Q(performed_date__lte=F("recorded_on")), name="imaging_not_future"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.modality} {self.region} {self.performed_date}"


class ProcedureKind(models.TextChoices):
    VERTEBROPLASTY = "vertebroplasty"
    KYPHOPLASTY = "kyphoplasty"
    NERVE_ROOT_BLOCK = "nerve_root_block"
    SURGERY = "surgery"


class Procedure(EpisodeFactModel):
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="procedures")
    kind = models.CharField(max_length=20, choices=ProcedureKind.choices)
    level = models.CharField(max_length=3, blank=True, default="")
    performed_date = models.DateField()

    history = tracked_history()

    class Meta:
        ordering = ["performed_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ProcedureKind.values), name="procedure_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(performed_date__lte=F("recorded_on")), name="procedure_not_future"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.level} {self.performed_date}"
