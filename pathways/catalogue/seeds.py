"""The guideline seeds (``docs/seeds/``) and the lines a rule cites from them:
``004``, ``004:85``, ``004:64-68`` or ``004:20,26``."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

SEEDS_DIR = Path(settings.BASE_DIR) / "docs" / "seeds"

_SEED_REF = re.compile(r"(?P<seed>\d{3})(?::(?P<lines>.+))?")
_LINE_SPAN = re.compile(r"(?P<first>\d+)(?:\s*[-\u2013]\s*(?P<last>\d+))?")
_QUESTION = re.compile(r"^(?:what|which)\s+(?:is|are)\s+(?:the\s+)?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Seed:
    number: str
    guideline: str
    lines: tuple[str, ...]


def guideline_name(first_line: str) -> str:
    """``What is the best treatment for X?`` -> ``Best treatment for X``."""
    name = _QUESTION.sub("", first_line.strip()).rstrip("?").strip()
    return name[:1].upper() + name[1:]


@functools.cache
def load_seeds(directory: Path = SEEDS_DIR) -> dict[str, Seed]:
    out: dict[str, Seed] = {}
    for path in sorted(directory.glob("[0-9][0-9][0-9]_*.txt")):
        lines = tuple(path.read_text(encoding="utf-8").splitlines())
        number = path.name[:3]
        out[number] = Seed(number, guideline_name(lines[0] if lines else ""), lines)
    return out


@dataclass(frozen=True, slots=True)
class SeedLine:
    number: int
    text: str


@dataclass(frozen=True, slots=True)
class Citation:
    ref: str
    seed: str
    guideline: str
    # The cited lines (none when the whole guideline is cited).
    lines: tuple[SeedLine, ...]
    # Why the reference does not resolve ("" when it does).
    problem: str = ""
    # The lines as cited: "line 85", "lines 64\u201368", "lines 20, 26".
    line_label: str = ""


def _quote(raw: str) -> str:
    return raw.strip().lstrip("\u2022").strip()


def cite(ref: str, seeds: dict[str, Seed]) -> Citation:
    """``004``, ``004:85``, ``004:64-68`` or ``004:20,26`` -> the quoted lines."""
    match = _SEED_REF.fullmatch(ref.strip())
    if match is None:
        return Citation(ref, "", "", (), problem="not a guideline reference")
    seed = seeds.get(match["seed"])
    if seed is None:
        return Citation(ref, match["seed"], "", (), problem="no such guideline")
    if not match["lines"]:
        return Citation(ref, seed.number, seed.guideline, ())
    numbers: list[int] = []
    spans: list[str] = []
    for part in match["lines"].split(","):
        span = _LINE_SPAN.fullmatch(part.strip())
        if span is None:
            return Citation(ref, seed.number, seed.guideline, (), problem="not a line number")
        first = int(span["first"])
        last = int(span["last"] or first)
        if not 1 <= first <= last <= len(seed.lines):
            return Citation(
                ref, seed.number, seed.guideline, (), problem="no such line in the guideline"
            )
        numbers.extend(range(first, last + 1))
        spans.append(f"{first}\u2013{last}" if last > first else str(first))
    lines = tuple(SeedLine(n, _quote(seed.lines[n - 1])) for n in numbers)
    lines = tuple(line for line in lines if line.text)
    if not lines:
        return Citation(ref, seed.number, seed.guideline, (), problem="the cited line is blank")
    label = ("lines " if len(numbers) > 1 else "line ") + ", ".join(spans)
    return Citation(ref, seed.number, seed.guideline, lines, line_label=label)
