"""The result a task asks for, recorded from its worklist row.

Like the chart's forms, these only turn the browser's strings into the types
the parsers take (``pathways.inputs``, ``patients.inputs``); the parsers and
then the services validate.
"""

from __future__ import annotations

from typing import Any

from vcftrack.core.forms import parse_bool, parse_number

# The result a task asks for, recorded from its row (pathways.worklist.selectors.RESULT_FORMS).
RESULT_LABELS = {
    "dxa": "DXA",
    "medication": "Medication start",
    "imaging": "Imaging",
    "pain": "Pain score",
    "neuro": "Neurological exam",
}


def result_data(form: str, post: Any) -> dict[str, Any]:
    """The service's data from a task row's result form (browser strings -> types)."""
    if form == "dxa":
        return {
            "performed_date": post.get("performed_date"),
            "site": post.get("site"),
            "bmd_g_cm2": post.get("bmd_g_cm2"),
            "t_score": post.get("t_score") or None,
        }
    if form == "medication":
        return {"drug": post.get("drug"), "start_date": post.get("start_date")}
    if form == "imaging":
        return {
            "modality": post.get("modality"),
            "contrast": post.get("contrast") == "true",
            "performed_date": post.get("performed_date"),
            "edema": parse_bool(post.get("edema") or ""),
        }
    if form == "pain":
        return {
            "kind": "pain_nrs",
            "value": parse_number(post.get("value")),
            "effective_date": post.get("effective_date"),
        }
    if form == "neuro":
        return {
            "kind": "neuro_deficit",
            "value": parse_bool(post.get("neuro") or ""),
            "effective_date": post.get("effective_date"),
        }
    return {}


def user_choice(value: Any) -> Any:
    """A chosen person's id as the integer the parser takes ("" or None:
    nobody); anything else passes through for the parser to name."""
    if value in (None, ""):
        return None
    return int(value) if isinstance(value, str) and value.isdigit() else value
