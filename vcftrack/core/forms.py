"""What every web form of vcftrack shares.

The forms render labelled fields and carry raw input; the validation is the
write's one parser's (the same the REST API uses) and its service's, and
their ValidationError is put back beside each field it names
(``apply_errors``). The helpers below turn the browser's strings into the
types the parsers take, passing anything unparseable through unchanged so
the parser names the bad field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from vcftrack.core.labels import label as code_label


def blank_choices(choices: Any, label: str = "—") -> list[tuple[str, str]]:
    # Words, not codes: "MRI", "X-ray", "NSAID" (not "Mri", "Xray", "Nsaid").
    return [("", label), *[(c.value, code_label(c.value)) for c in choices]]


def parse_number(value: Any) -> Any:
    """A browser string as a number; anything unparseable passes through for the service to name."""
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def parse_bool(value: Any) -> Any:
    """ "true"/"false"/"" as True/False/None; anything else passes through."""
    return {"true": True, "false": False, "": None}.get(value, value)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class ServiceForm(forms.Form):
    """A form whose validation is done by a service."""

    def data_for_service(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name, "") for name in self.fields}


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's field errors beside the fields (the rest at the top)."""
    form.is_valid()
    messages: dict[str, list[str]] = getattr(exc, "message_dict", {"__all__": exc.messages})
    for field, texts in messages.items():
        for text in texts:
            if field in form.fields:
                form.add_error(field, text)
            else:
                form.add_error(None, text if field == "__all__" else f"{field}: {text}")
