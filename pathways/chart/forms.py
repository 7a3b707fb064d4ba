"""Web forms of the patient chart: the patient, medications, DXA, date of death.

The forms render labelled fields and carry raw input; the write's one parser
(``patients.inputs``, the same the REST API uses) and then its service
validate, and their ValidationError is put back beside each field it names
(``apply_errors``). Fields are therefore optional strings here: the parser
decides what is required.
"""

from __future__ import annotations

from typing import Any

from django import forms

from patients.models import Drug, DxaSite, Medication, Route, Sex
from vcftrack.core.forms import (
    DateInput,
    ServiceForm,
    blank_choices,
)
from vcftrack.core.labels import label as code_label


class PatientForm(ServiceForm):
    clinic = forms.ChoiceField(label="Clinic", choices=[])
    mrn = forms.CharField(label="MRN", required=False, max_length=200)
    given_name = forms.CharField(label="Given name", required=False, max_length=300)
    family_name = forms.CharField(label="Family name", required=False, max_length=300)
    birth_date = forms.CharField(label="Date of birth", required=False, widget=DateInput())
    sex = forms.ChoiceField(label="Sex", required=False, choices=blank_choices(Sex, "unknown"))
    phone = forms.CharField(label="Phone", required=False, max_length=64)
    phone_alt = forms.CharField(label="Other phone", required=False, max_length=64)
    contact_time = forms.CharField(
        label="Best time to call",
        required=False,
        max_length=200,
        help_text="E.g. weekday mornings.",
    )

    def __init__(self, *args: Any, clinics: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinic"].choices = [(str(c.id), c.name) for c in clinics]  # type: ignore[attr-defined]


class MedicationForm(ServiceForm):
    drug = forms.ChoiceField(label="Drug", required=False, choices=blank_choices(Drug))
    start_date = forms.CharField(label="Start date", required=False, widget=DateInput())
    dose = forms.CharField(label="Dose", required=False, max_length=300)
    route = forms.ChoiceField(label="Route", required=False, choices=blank_choices(Route))


class MedicationStopForm(ServiceForm):
    medication = forms.ChoiceField(label="Medication", required=False, choices=[])
    stop_date = forms.CharField(label="Stop date", required=False, widget=DateInput())

    def __init__(self, *args: Any, medications: list[Medication], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["medication"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(m.id), f"{code_label(m.drug)} since {m.start_date:%-d %b %Y}")
            for m in medications
            if m.stop_date is None
        ]


class MedicationVerifyForm(ServiceForm):
    medication = forms.ChoiceField(label="Imported medication", required=False, choices=[])

    def __init__(self, *args: Any, medications: list[Medication], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["medication"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(m.id), f"{m.drug.replace('_', ' ')} since {m.start_date:%d %b %Y}")
            for m in medications
            if m.unverified
        ]


class DeathForm(ServiceForm):
    deceased_date = forms.CharField(label="Date of death", required=False, widget=DateInput())


class BoneDensityForm(ServiceForm):
    performed_date = forms.CharField(label="DXA date", required=False, widget=DateInput())
    site = forms.ChoiceField(label="Site", required=False, choices=blank_choices(DxaSite))
    bmd_g_cm2 = forms.CharField(
        label="BMD (g/cm²)",
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.001", "min": "0.1", "max": "2.5"}),
    )
    t_score = forms.CharField(
        label="T-score",
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "-7", "max": "5"}),
    )
