"""Web forms of the patient chart: a new episode and the episode's facts.

As in ``pathways.chart.forms``, validation is the write's one parser's
(``pathways.inputs``, the REST API's too) and its service's; these forms only
label the fields and convert the browser's strings into the types the parser
takes (a number, a boolean), passing anything unparseable through unchanged
so the parser names the bad field.
"""

from __future__ import annotations

from typing import Any

from django import forms

from pathways.levels import LEVELS
from pathways.models import (
    BOOLEAN_KINDS,
    NUMERIC_KINDS,
    Episode,
    Etiology,
    Modality,
    NeuroStatus,
    ProcedureKind,
)
from vcftrack.core.forms import DateInput, ServiceForm, blank_choices, parse_bool, parse_number
from vcftrack.core.labels import label as code_label

YES_NO = [("", "—"), ("true", "yes"), ("false", "no")]
FLAG_KINDS = sorted(BOOLEAN_KINDS - {"neuro_deficit"}) + ["neuro_deficit"]
MEASURE_KINDS = [k for k in NUMERIC_KINDS if k != "pain_nrs"]


class EpisodeForm(ServiceForm):
    levels = forms.MultipleChoiceField(
        label="Vertebral levels",
        required=False,
        choices=[(lv, lv) for lv in LEVELS],
        widget=forms.CheckboxSelectMultiple,
    )
    onset_date = forms.CharField(label="Onset of symptoms", required=False, widget=DateInput())
    identified_date = forms.CharField(
        label="Fracture identified",
        required=False,
        widget=DateInput(),
        help_text="Defaults to today when left empty.",
    )
    etiology = forms.ChoiceField(label="Etiology", required=False, choices=blank_choices(Etiology))
    neuro_status = forms.ChoiceField(
        label="Neurological status", required=False, choices=blank_choices(NeuroStatus)
    )


class EpisodeChoiceForm(ServiceForm):
    episode = forms.ChoiceField(label="Episode", required=False, choices=[])

    def __init__(self, *args: Any, episodes: list[Episode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["episode"].choices = [  # type: ignore[attr-defined]
            (str(e.id), f"{'/'.join(e.levels)} identified {e.identified_date:%-d %b %Y}")
            for e in episodes
        ]

    def fact_data(self) -> dict[str, Any]:
        raise NotImplementedError


class PainForm(EpisodeChoiceForm):
    value = forms.CharField(
        label="Pain (NRS 0–10)",
        required=False,
        widget=forms.NumberInput(attrs={"min": "0", "max": "10", "step": "1"}),
    )
    effective_date = forms.CharField(label="Date", required=False, widget=DateInput())

    def fact_data(self) -> dict[str, Any]:
        return {
            "kind": "pain_nrs",
            "value": parse_number(self.cleaned_data.get("value")),
            "effective_date": self.cleaned_data.get("effective_date"),
        }


class MeasureForm(EpisodeChoiceForm):
    kind = forms.ChoiceField(
        label="Measurement",
        required=False,
        choices=[("", "—")] + [(k, code_label(k)) for k in MEASURE_KINDS],
    )
    value = forms.CharField(
        label="Value", required=False, widget=forms.NumberInput(attrs={"step": "0.1"})
    )
    effective_date = forms.CharField(label="Date", required=False, widget=DateInput())

    def fact_data(self) -> dict[str, Any]:
        return {
            "kind": self.cleaned_data.get("kind"),
            "value": parse_number(self.cleaned_data.get("value")),
            "effective_date": self.cleaned_data.get("effective_date"),
        }


class FlagForm(EpisodeChoiceForm):
    kind = forms.ChoiceField(
        label="Observation",
        required=False,
        choices=[("", "—")] + [(k, code_label(k)) for k in FLAG_KINDS],
    )
    value = forms.ChoiceField(label="Present?", required=False, choices=YES_NO)
    effective_date = forms.CharField(label="Date", required=False, widget=DateInput())

    def fact_data(self) -> dict[str, Any]:
        return {
            "kind": self.cleaned_data.get("kind"),
            "value": parse_bool(self.cleaned_data.get("value")),
            "effective_date": self.cleaned_data.get("effective_date"),
        }


class ImagingForm(EpisodeChoiceForm):
    modality = forms.ChoiceField(label="Modality", required=False, choices=blank_choices(Modality))
    performed_date = forms.CharField(label="Date", required=False, widget=DateInput())
    edema = forms.ChoiceField(
        label="Bone marrow edema",
        required=False,
        choices=[("", "not reported"), ("true", "yes"), ("false", "no")],
    )
    contrast = forms.BooleanField(label="With contrast", required=False)

    def fact_data(self) -> dict[str, Any]:
        return {
            "modality": self.cleaned_data.get("modality"),
            "performed_date": self.cleaned_data.get("performed_date"),
            "edema": parse_bool(self.cleaned_data.get("edema") or ""),
            "contrast": bool(self.cleaned_data.get("contrast")),
        }


class ProcedureForm(EpisodeChoiceForm):
    kind = forms.ChoiceField(
        label="Procedure", required=False, choices=blank_choices(ProcedureKind)
    )
    level = forms.ChoiceField(
        label="Level", required=False, choices=[("", "—")] + [(lv, lv) for lv in LEVELS]
    )
    performed_date = forms.CharField(label="Date", required=False, widget=DateInput())

    def fact_data(self) -> dict[str, Any]:
        return {
            "kind": self.cleaned_data.get("kind"),
            "level": self.cleaned_data.get("level"),
            "performed_date": self.cleaned_data.get("performed_date"),
        }


# The episode-level fact forms of the patient page: key -> (form, fact kind).
EPISODE_FACT_FORMS: dict[str, tuple[type[EpisodeChoiceForm], str, str]] = {
    "pain": (PainForm, "observation", "Pain score"),
    "measure": (MeasureForm, "observation", "Deformity measurement"),
    "flag": (FlagForm, "observation", "Observation flag"),
    "imaging": (ImagingForm, "imaging", "Imaging"),
    "procedure": (ProcedureForm, "procedure", "Procedure"),
}
