"""Words people read instead of codes: labels of stored codes and the names of
the guidelines (the seeds) that rules cite.

Codes stay in the API and the CSV; the web app shows these.
"""

from __future__ import annotations

from typing import Any

# Codes whose plain "replace underscores" form is wrong (acronyms, hyphens).
CODE_LABELS = {
    "mri": "MRI",
    "ct": "CT",
    "xray": "X-ray",
    "nsaid": "NSAID",
    "dxa": "DXA",
    "odi": "ODI",
    "pain_nrs": "Pain score (0-10)",
    "bmd_dxa": "Yearly DXA",
    "acetaminophen": "Paracetamol (acetaminophen)",
    "vitamin_d": "Vitamin D",
    "zoledronic_acid": "Zoledronic acid",
    "kyphosis_pct": "Kyphosis (%)",
    "scoliosis_pct": "Scoliosis (%)",
    "dorsal_wall_loss_pct": "Dorsal wall loss (%)",
    "height_loss_pct": "Height loss (%)",
    "lumbar_spine": "Lumbar spine",
    "total_hip": "Total hip",
    "femoral_neck": "Femoral neck",
    "sc": "Subcutaneous",
    "iv": "Intravenous",
    "im": "Intramuscular",
}

# The seeds (docs/seeds/NNN_*.txt) are the clinical questions the rules
# were drawn from; their titles, shortened into a guideline's name.
GUIDELINES = {
    "000": "Management of a junctional osteoporotic vertebral fracture",
    "001": "Osteopenia with an atraumatic vertebral compression fracture",
    "002": "Treatment of vertebral compression fractures",
    "003": "Osteoporosis with a lumbar compression fracture",
    "004": "Best treatment for a spine fracture in osteoporosis",
}


def label(code: Any) -> str:
    """``red_flags_found`` -> ``Red flags found``; ``xray`` -> ``X-ray``."""
    text = str(code or "")
    if text in CODE_LABELS:
        return CODE_LABELS[text]
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def guideline(seed: Any) -> str:
    """``004`` or ``004:85`` -> the guideline's name (with the lines cited)."""
    number, _, lines = str(seed).partition(":")
    name = GUIDELINES.get(number, "Another guideline")
    if not lines:
        return name
    word = "lines" if ("," in lines or "-" in lines) else "line"
    return f"{name} ({word} {lines.replace('-', chr(0x2013)).replace(',', ', ')})"


def guideline_citations(refs: Any) -> list[str]:
    """A rule's references grouped by guideline, in the order first cited:
    ``["001:44", "000:49", "001:45-46"]`` -> ``["<001's name> (lines 44, 45–46)",
    "<000's name> (line 49)"]``."""
    grouped: dict[str, list[str]] = {}
    for ref in refs or ():
        number, _, lines = str(ref).partition(":")
        spans = grouped.setdefault(number, [])
        if lines:
            spans.extend(part.strip().replace("-", "\u2013") for part in lines.split(","))
    out = []
    for number, spans in grouped.items():
        name = GUIDELINES.get(number, "Another guideline")
        if not spans:
            out.append(name)
            continue
        many = len(spans) > 1 or "\u2013" in spans[0]
        out.append(f"{name} ({'lines' if many else 'line'} {', '.join(spans)})")
    return out


# Field names as a form's labels say them (for messages outside the form).
FIELD_NAMES = {
    "until": "Snooze until",
    "retry_on": "Try again on",
    "call_outcome": "Call",
    "note": "Note",
    "reason": "Reason",
    "outcome": "Outcome",
    "assignee": "Assignee",
    "performed_date": "Date",
    "effective_date": "Date",
    "start_date": "Start date",
    "bmd_g_cm2": "BMD (g/cm²)",
    "t_score": "T-score",
    "value": "Value",
}
