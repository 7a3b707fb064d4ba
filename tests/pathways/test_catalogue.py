"""The rule catalogue is generated from the registered rule sets: every rule of
every version, in plain words, with its guideline lines quoted from docs/seeds."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pathways import catalogue
from pathways.catalogue import seeds, words
from pathways.engine import RULESETS, RuleSet, get_ruleset

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "docs" / "seeds"

# What a reader sees; none of it may show an identifier or an ASCII ">=".
USER_TEXT = (
    "title",
    "scope_text",
    "group_text",
    "phases_text",
    "trigger",
    "due_text",
    "recurrence_text",
    "window_text",
    "priority_text",
    "grace_text",
    "lead_text",
    "completion_text",
    "guidance",
)


def entries(versions: list[catalogue.VersionEntry]) -> list[catalogue.RuleEntry]:
    return [e for v in versions for e in v.rules]


def test_every_rule_of_every_registered_version_is_listed():
    built = catalogue.build_catalogue()
    registered = catalogue.registered_rulesets()
    assert "v1" in RULESETS
    assert set(RULESETS) == {rs.version for rs in registered}
    # Newest version first; each version's rules in their declared order.
    assert [v.version for v in built] == [rs.version for rs in reversed(registered)]
    for version, rs in zip(built, reversed(registered), strict=True):
        assert [e.code for e in version.rules] == [r.code for r in rs.rules]
        for entry, rule in zip(version.rules, rs.rules, strict=True):
            assert entry.title == words.sentence(rule.title)
            assert entry.anchor == f"{rs.version}-{rule.code}"
            assert (entry.offset_days, entry.offset_months, entry.recurs_months) == (
                rule.offset_days,
                rule.offset_months,
                rule.recurs_months,
            )
            assert entry.seed_refs == rule.seed_refs
            assert entry.patient_level == rule.patient_level
            assert entry.scope == (
                "programme" if rule.patient_level and rs.version != "v1" else "episode"
            )
    assert built[0].newest
    assert not any(v.newest for v in built[1:])


def test_every_version_package_in_the_engine_is_registered():
    packages = {p.parent.name for p in (ROOT / "pathways" / "engine").glob("v*/__init__.py")}
    assert {"v1", "v2"} <= packages
    assert {rs.version for rs in catalogue.registered_rulesets()} == packages


def test_a_newly_registered_version_appears_and_takes_the_bare_anchors(monkeypatch):
    v1 = get_ruleset("v1")
    # A later version: one rule dropped, one cited by line.
    rules = tuple(
        dataclasses.replace(r, seed_refs=("004:85", "003")) if r.code == "bmd_dxa" else r
        for r in v1.rules
        if r.code != "new_fracture_screen_12m"
    )
    later = RuleSet(version="v10", rules=rules, branch=v1.branch, phase=v1.phase)
    monkeypatch.setitem(RULESETS, "v10", later)
    built = catalogue.build_catalogue()
    assert built[0].version == "v10"
    assert built[0].newest
    assert [v.version for v in built][-1] == "v1"  # v10 sorts after v1 (and v2..v9)
    newest = {e.code: e.version for e in entries(built) if e.newest}
    # #bmd_dxa lands on v10's rule; the rule v10 dropped stays on v1's.
    assert newest["bmd_dxa"] == "v10"
    assert newest["new_fracture_screen_12m"] == "v1"
    assert len(newest) == len({e.code for e in entries(built)})
    dxa = next(e for e in built[0].rules if e.code == "bmd_dxa")
    assert dxa.scope == "programme"
    assert dxa.scope_text.startswith("The patient's bone-health")
    assert dxa.phases_text == "While the patient's programme runs"
    assert dxa.citations[0].lines[0].number == 85
    assert "3-5 years initially" in dxa.citations[0].lines[0].text
    assert [v.version for v in catalogue.build_catalogue("v10")] == ["v10"]
    with pytest.raises(KeyError):
        catalogue.build_catalogue("v11")


def test_every_seed_citation_resolves_to_an_existing_seed_line():
    files = {p.name[:3]: p for p in SEEDS.glob("*.txt")}
    assert sorted(files) == ["000", "001", "002", "003", "004"]
    for entry in entries(catalogue.build_catalogue()):
        assert entry.citations, f"{entry.anchor} cites no guideline"
        for citation in entry.citations:
            assert citation.problem == "", f"{entry.anchor}: {citation.ref}: {citation.problem}"
            source = files[citation.seed].read_text(encoding="utf-8").splitlines()
            assert citation.guideline
            assert citation.guideline[0].isupper()
            assert source[0].lower().rstrip("?").endswith(citation.guideline.lower())
            for line in citation.lines:
                assert line.text
                assert line.text in source[line.number - 1]


@pytest.mark.parametrize(
    ("ref", "numbers", "problem"),
    [
        ("004:85", [85], ""),
        ("004:64-68", [64, 66, 67, 68], ""),  # the blank line 65 is not quoted
        ("004:64\u201368", [64, 66, 67, 68], ""),
        ("004:20,26", [20, 26], ""),
        ("003", [], ""),
        ("004:0", [], "no such line in the guideline"),
        ("004:999", [], "no such line in the guideline"),
        ("004:65", [], "the cited line is blank"),
        ("009", [], "no such guideline"),
        ("004:x", [], "not a line number"),
        ("seed 4", [], "not a guideline reference"),
    ],
)
def test_a_citation_quotes_the_lines_it_names(ref, numbers, problem):
    citation = seeds.cite(ref, seeds.load_seeds())
    assert [line.number for line in citation.lines] == numbers
    assert citation.problem == problem
    if not problem:
        assert citation.guideline


def test_a_cited_line_is_quoted_without_its_bullet():
    citation = seeds.cite("004:85", seeds.load_seeds())
    assert citation.lines[0].text.startswith("Prescribe for 3-5 years initially")
    assert citation.line_label == "line 85"
    assert seeds.cite("004:64-68", seeds.load_seeds()).line_label == "lines 64\u201368"
    assert seeds.cite("004:20,26", seeds.load_seeds()).line_label == "lines 20, 26"


def test_guidelines_are_named_by_their_first_line():
    names = {n: s.guideline for n, s in seeds.load_seeds().items()}
    assert names["004"] == "Best treatment for a spine fracture in osteoporosis"
    assert names["002"] == "Treatment for vertebral compression fractures"
    for name in names.values():
        assert not name.lower().startswith("what")
        assert not name.endswith("?")


def test_due_recurrence_and_timing_in_words():
    by_code = {e.code: e for e in catalogue.build_catalogue("v1")[0].rules}
    assert by_code["bmd_dxa"].due_text.startswith("12 months after the last DXA")
    assert by_code["bmd_dxa"].recurrence_text == "Every 12 months"
    assert by_code["denosumab_dose"].due_text == "6 months after the last dose"
    assert by_code["denosumab_dose"].grace_text == "Overdue 28 days after it is due"
    assert by_code["bisphosphonate_duration_review"].due_text == (
        "3 years after the bisphosphonate course started"
    )
    assert by_code["augmentation_review_3m"].due_text == (
        "3 months after the fracture was identified"
    )
    assert by_code["calcitonin_start"].window_text.startswith(
        "Can be done until 5 days after symptoms began"
    )
    assert by_code["neuro_exam"].due_text == "On the day the fracture was identified"
    # Urgent: overdue the next day, on the worklist only when due (spec: grace 0).
    assert by_code["neuro_exam"].grace_text == "Overdue the day after it is due"
    assert by_code["neuro_exam"].lead_text == "Appears on the worklist on the day it is due"
    assert by_code["surgical_consult_urgent"].due_text.startswith("At once")
    assert by_code["augmentation_review_3m"].outcome_texts == (
        "Offer augmentation",
        "Continue conservative",
        "Resolved",
    )
    # Version 1 keeps a patient's series on the newest open episode.
    assert by_code["bmd_dxa"].patient_level
    assert by_code["bmd_dxa"].scope == "episode"
    assert "newest open episode" in by_code["bmd_dxa"].scope_text
    assert by_code["neuro_exam"].scope_text.startswith("Each fracture")


def test_an_anchor_the_catalogue_has_no_words_for_is_shown_as_written():
    rule = dataclasses.replace(
        get_ruleset("v1").get("renal_function"), anchor="cumulative_exposure", offset_days=1
    )
    assert words.due_text(rule) == "12 months and 1 day after cumulative exposure"


def test_what_a_reader_sees_is_plain_english():
    identifier = re.compile(r"[a-z]_[a-z]")
    for entry in entries(catalogue.build_catalogue()):
        texts = [getattr(entry, name) for name in USER_TEXT] + list(entry.outcome_texts)
        for text in texts:
            assert text, f"{entry.anchor}: empty text"
            assert not identifier.search(text), f"{entry.anchor}: {text!r}"
            assert ">=" not in text, f"{entry.anchor}: {text!r}"
            assert "<=" not in text, f"{entry.anchor}: {text!r}"


def test_the_repository_carries_its_own_specification():
    spec = (ROOT / "docs" / "pathway.md").read_text(encoding="utf-8")
    assert "# Version 2" in spec
    assert "## V2.1" in spec
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\.\./shared/(pathway-spec|seeds)", text), path.name
    assert "docs/pathway.md" in (ROOT / "README.md").read_text(encoding="utf-8")
