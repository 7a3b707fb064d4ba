"""Small presentation filters of the web app."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import template

from pathways import catalogue
from vcftrack.core import labels

register = template.Library()


@register.filter
def label(value: Any) -> str:
    """A code in words: ``xray`` -> ``X-ray``, ``left_message`` -> ``Left message``."""
    return labels.label(value)


@register.filter
def guideline(seed: Any) -> str:
    """A seed reference as the guideline's name."""
    return labels.guideline(seed)


@register.filter
def guideline_citations(refs: Any) -> list[str]:
    """A task's guideline references grouped by guideline, with their lines."""
    return labels.guideline_citations(refs)


@register.filter
def tel(number: Any) -> str:
    """A phone number for a ``tel:`` link: digits and a leading +."""
    text = str(number or "")
    return ("+" if text.strip().startswith("+") else "") + "".join(c for c in text if c.isdigit())


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


@register.filter
def plain_dates(value: Any) -> str:
    """The engine's explanations name dates as ``2026-11-17``; a clinician
    reads them in the page's one date format, ``17 Nov 2026``."""

    def words(match: re.Match[str]) -> str:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return match[0]
        return f"{day.day} {day:%b %Y}"

    return _ISO_DATE.sub(words, str(value or ""))


@register.filter
def humanize_code(value: Any) -> str:
    """``offer_augmentation`` -> ``offer augmentation``."""
    return str(value or "").replace("_", " ")


@register.filter
def sparkline(points: list[tuple[date, float]], size: str = "120x32") -> str:
    """SVG polyline points for a pain trajectory (NRS 0-10) over time.

    Drawn server-side as plain SVG: no script, nothing for the CSP to allow.
    """
    if not points:
        return ""
    width, height = (int(x) for x in size.split("x"))
    first, last = points[0][0], points[-1][0]
    span = max(1, (last - first).days)
    pad = 3
    out = []
    for day, value in points:
        x = pad + (width - 2 * pad) * ((day - first).days / span if len(points) > 1 else 0.5)
        y = pad + (height - 2 * pad) * (1 - max(0.0, min(10.0, value)) / 10)
        out.append(f"{x:.1f},{y:.1f}")
    return " ".join(out)


@register.filter
def sparkline_last(points: list[tuple[date, float]], size: str = "120x32") -> dict[str, str]:
    """The last point of the sparkline (drawn as a dot: a single score is visible)."""
    coords = sparkline(points, size).split()
    if not coords:
        return {}
    x, y = coords[-1].split(",")
    return {"x": x, "y": y}


@register.filter
def pain_text(points: list[tuple[date, float]]) -> str:
    return ", ".join(f"{v:g} on {d:%-d %b %Y}" for d, v in points) or "no pain scores"


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def attr(obj: Any, name: str) -> Any:
    return getattr(obj, name, None)


@register.simple_tag
def rule_url(version: str, code: str) -> str:
    """The rule catalogue's entry for a rule of a pathway version (``/rules/#v1-bmd_dxa``)."""
    return catalogue.rule_url(version, code)


@register.filter
def task_rule_url(task: Any) -> str:
    """``rule_url`` for a task: its rule set, else its episode's pathway version."""
    version = getattr(task, "rule_set", "") or ""
    if not version and getattr(task, "episode_id", None):
        version = task.episode.pathway_version
    return rule_url(version, task.rule)


@register.filter
def field_name(field: Any) -> str:
    """A field's name as its form label says it (``bmd_g_cm2`` -> ``BMD (g/cm²)``)."""
    return labels.FIELD_NAMES.get(str(field), labels.label(field))
