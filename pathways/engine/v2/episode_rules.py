"""Version 2: the rules of one fracture episode (pathway-spec V2.3, V2.4).

Everything in version 1 holds unless changed here; each change cites the
seed line it comes from (file:line of docs/seeds). The planners read their
numbers from the rule (offset, window) -- one place per number.
"""

from __future__ import annotations

from datetime import date

from pathways.engine.context import (
    AUGMENTATION,
    EARLY_AUG_THRESHOLDS,
    SURGICAL_HEIGHT_LOSS_PCT,
    SURGICAL_KYPHOSIS_PCT,
    Context,
    Trigger,
    fmt_value,
)
from pathways.engine.dates import add_days, add_months
from pathways.engine.facts import ImagingFact, ObservationFact
from pathways.engine.rules_v1 import branch_due, pathologic_confirmed
from pathways.engine.ruleset import Plan, Planned, Rule, single_plan
from pathways.engine.v2 import exposure

# Imaging counts only for the region it shows (V2.3): a spine region is
# cervical, thoracic, lumbar (or sacral) or the whole spine; regions are free
# text from clients, so they are matched on these words.
SPINE_WORDS = ("spine", "cervical", "thoracic", "lumbar", "sacral")
# "spine" alone is the region vcftrack records by default: the spine as a whole.
WHOLE_SPINE = frozenset({"spine", "whole_spine", "complete_spine", "entire_spine", "total_spine"})


def _norm(region: str) -> str:
    return region.strip().lower().replace("-", "_").replace(" ", "_")


def is_spine(region: str) -> bool:
    norm = _norm(region)
    return any(word in norm for word in SPINE_WORDS)


def is_whole_spine(region: str) -> bool:
    return _norm(region) in WHOLE_SPINE


# Project convention for "severe" pain (002:53 "persistent severe pain after
# 3 weeks"): NRS >= 7, stated as such in the guidance.
SEVERE_PAIN_NRS = 7.0
SEVERE_PAIN_FROM_DAY = 21
SEVERE_PAIN_SCORES = 2
# Deformity on repeat imaging and the surgical indications of 003:71 and
# 004:75-78, recorded as boolean observations.
SURGICAL_DEFORMITY_FLAGS = (
    "junctional_kyphosis",
    "retropulsion",
    "pseudarthrosis",
    "progressive_collapse",
)
SURGICAL_URGENT_KINDS = ("neuro_deficit", "instability", "canal_compromise", "neuro_deterioration")
EARLY_AUG_FLAGS = (
    "pulmonary_dysfunction",
    "parenteral_narcotics",
    "hospital_admission",
    "pain_med_contraindication",
    # "worsening symptoms despite medications" (001:45) only when a clinician
    # records it: v1's invented "pain rose by 2 points" is gone (V2.3).
    "worsening_symptoms",
)


def region_label(region: str) -> str:
    return region.replace("_", " ")


def spine_mris(ctx: Context) -> list[ImagingFact]:
    return [i for i in ctx.imaging if i.modality == "mri" and is_spine(i.region)]


def ever_at_least(ctx: Context, kind: str, threshold: float) -> ObservationFact | None:
    """The first measurement at or over a threshold. A later, lower value does
    not undo it (V2.3: only voiding the fact does)."""
    for obs in ctx.by_kind.get(kind, []):
        if not isinstance(obs.value, bool) and float(obs.value) >= threshold:
            return obs
    return None


def ever_true(ctx: Context, kind: str) -> list[ObservationFact]:
    return [o for o in ctx.by_kind.get(kind, []) if o.value is True]


# ----------------------------------------------------------------- triage --
def plan_neuro_exam(ctx: Context, rule: Rule) -> Plan:
    """Done on the date of the recorded exam (V2.3), not the identification date."""
    done = None
    obs = ctx.first("neuro_deficit")
    if obs is not None:
        done = (obs.effective_date, f"neurological exam recorded on {obs.effective_date}")
    elif ctx.facts.neuro_status in ("intact", "deficit"):
        # The status came with the episode: the exam was documented the day the
        # episode was recorded. An old record entered years later carries its
        # exam from the time of the fracture.
        on = ctx.facts.recorded_on
        if on >= ctx.twelve_months:
            on = ctx.identified
        done = (on, f"neurological status recorded as {ctx.facts.neuro_status} on {on}")
    return single_plan(ctx.identified, ("episode identified",), done=done)


def plan_red_flag_screen(ctx: Context, rule: Rule) -> Plan:
    done = None
    obs = ctx.first("malignancy_suspected")
    if obs is not None:
        done = (obs.effective_date, f"red-flag screen recorded on {obs.effective_date}")
    return single_plan(ctx.identified, ("episode identified",), done=done)


def plan_mri_initial(ctx: Context, rule: Rule) -> Plan:
    mris = spine_mris(ctx)
    done = (
        (mris[0].performed_date, f"MRI of the {region_label(mris[0].region)} on "
         f"{mris[0].performed_date}")
        if mris
        else None
    )  # fmt: skip
    return single_plan(
        add_days(ctx.identified, rule.offset_days), ("no spine MRI recorded yet",), done=done
    )


# --------------------------------------------------------------- branches --
def surgical_urgent_triggers(ctx: Context) -> list[Trigger]:
    out: list[Trigger] = []
    if ctx.facts.neuro_status == "deficit":
        out.append(Trigger(ctx.identified, "neurological deficit on examination"))
    for kind in SURGICAL_URGENT_KINDS:
        for obs in ever_true(ctx, kind):
            out.append(
                Trigger(obs.effective_date, f"{kind.replace('_', ' ')} recorded on "
                        f"{obs.effective_date}")
            )  # fmt: skip
    return sorted(out, key=lambda t: t.on)


def _reraised(ctx: Context, rule: Rule, triggers: list[Trigger]) -> Plan:
    """One occurrence, and a new one for a trigger dated after the previous
    occurrence was closed by a person (001:83 "don't delay intervention for
    progressive deformity"; 000:91 deterioration "regardless of fracture age")."""
    occurrences: list[Planned] = []
    occurrence = 1
    current = triggers
    while current:
        occurrences.append(
            Planned(occurrence, max(current[0].on, ctx.identified), tuple(t.text for t in current))
        )
        closed = ctx.person_closed(rule.code, occurrence)
        if closed is None or closed.closed_on is None:
            break
        after = closed.closed_on
        current = [t for t in triggers if t.on > after]
        occurrence += 1
    return Plan(tuple(occurrences))


def plan_surgical_consult_urgent(ctx: Context, rule: Rule) -> Plan:
    triggers = surgical_urgent_triggers(ctx)
    if not triggers:
        return Plan(
            why_not="no neurological deficit, instability, canal compromise or deterioration"
        )
    return _reraised(ctx, rule, triggers)


def surgical_deformity_triggers(ctx: Context) -> list[Trigger]:
    out = []
    kyph = ever_at_least(ctx, "kyphosis_pct", SURGICAL_KYPHOSIS_PCT)
    if kyph is not None:
        out.append(
            Trigger(kyph.effective_date, f"kyphosis {fmt_value(kyph.value)} % (15 % or more)")
        )
    height = ever_at_least(ctx, "height_loss_pct", SURGICAL_HEIGHT_LOSS_PCT)
    if height is not None:
        out.append(
            Trigger(
                height.effective_date,
                f"vertebral height loss {fmt_value(height.value)} % (20 % or more)",
            )
        )
    for kind in SURGICAL_DEFORMITY_FLAGS:
        for obs in ever_true(ctx, kind)[:1]:
            out.append(
                Trigger(
                    obs.effective_date, f"{kind.replace('_', ' ')} recorded on {obs.effective_date}"
                )
            )
    review = ctx.person_closed("augmentation_review_3m")
    if review is not None and review.outcome == "refer_surgery" and review.closed_on:
        out.append(Trigger(review.closed_on, "intractable pain despite conservative care "
                           f"(3-month review, {review.closed_on})"))  # fmt: skip
    return sorted(out, key=lambda t: t.on)


def plan_surgical_consult(ctx: Context, rule: Rule) -> Plan:
    triggers = surgical_deformity_triggers(ctx)
    if not triggers:
        return Plan(why_not="no deformity or other surgical indication recorded")
    return single_plan(triggers[0].on, tuple(t.text for t in triggers))


def malignancy_suspected(ctx: Context) -> Trigger | None:
    if ctx.facts.etiology == "pathologic_suspected":
        return Trigger(ctx.identified, "cause recorded as possibly pathologic")
    obs = ctx.flag_on("malignancy_suspected")
    if obs is not None:
        return Trigger(obs.effective_date, f"malignancy suspected on {obs.effective_date}")
    red = ctx.person_closed("red_flag_screen")
    if red is not None and red.outcome == "red_flags_found" and red.closed_on is not None:
        return Trigger(red.closed_on, f"red flags found on screening ({red.closed_on})")
    return None


def plan_malignancy_workup(ctx: Context, rule: Rule) -> Plan:
    trig = malignancy_suspected(ctx) or pathologic_confirmed(ctx)
    if trig is None:
        return Plan(why_not="malignancy no longer suspected")
    # 002:27: MRI of the complete spine without and with IV contrast.
    whole = [
        i
        for i in ctx.imaging
        if i.modality == "mri" and i.contrast and is_whole_spine(i.region)
        and i.performed_date >= trig.on
    ]  # fmt: skip
    done = (
        (whole[0].performed_date, f"whole-spine MRI with contrast on {whole[0].performed_date}")
        if whole
        else None
    )
    return single_plan(branch_due(ctx, rule, trig), (trig.text,), done=done)


def plan_oncology_mdt(ctx: Context, rule: Rule) -> Plan:
    trig = pathologic_confirmed(ctx)
    if trig is None:
        return Plan(why_not="pathologic fracture not confirmed")
    # 002:84 "severe **and** worsening pain", 002:89 deformity or pulmonary
    # dysfunction, 002:93 neurologic effects.
    findings: list[str] = []
    pain = ctx.latest("pain_nrs")
    if (
        pain is not None
        and float(pain.value) >= SEVERE_PAIN_NRS
        and ctx.flag_on("worsening_symptoms")
    ):
        findings.append(f"severe and worsening pain (NRS {fmt_value(pain.value)})")
    if surgical_deformity_triggers(ctx) or early_deformity(ctx):
        findings.append("spinal deformity")
    if ctx.flag_on("pulmonary_dysfunction"):
        findings.append("pulmonary dysfunction")
    if surgical_urgent_triggers(ctx):
        findings.append("neurological effects")
    advice = (
        "multidisciplinary approach (" + ", ".join(findings) + ")"
        if findings
        else "radiation oncology consultation or medical management (no severe symptoms)"
    )
    return single_plan(branch_due(ctx, rule, trig), (trig.text, f"suggested: {advice}"))


# ----------------------------------------------------- acute/conservative --
def plan_calcitonin_start(ctx: Context, rule: Rule) -> Plan:
    """V2.3: raised for any episode identified within 28 days of onset.
    Presented within 0-5 days (004:20,26): high, due onset + 5 days.
    Presented later (000:28, 001:36, 003:24 "the first 4 weeks after
    identification"): routine, due at identification. Missed after
    identification + 28 days."""
    presented_day = (ctx.identified - ctx.onset).days
    if presented_day > rule.window_days:
        return Plan(why_not=f"presented on day {presented_day} after onset: past the 4-week window")
    window_end = add_days(ctx.identified, rule.window_days)
    started = [m for m in ctx.meds({"calcitonin"}) if ctx.onset <= m.start_date <= window_end]
    done = (
        (started[0].start_date, f"calcitonin started on {started[0].start_date}")
        if started
        else None
    )
    if presented_day <= rule.offset_days:
        return single_plan(
            add_days(ctx.onset, rule.offset_days),
            (f"presented on day {presented_day} after onset (within 0-5 days)",),
            done=done,
            window_end=window_end,
        )
    return single_plan(
        ctx.identified,
        (f"presented on day {presented_day} after onset (within the first 4 weeks)",),
        done=done,
        window_end=window_end,
        priority="routine",
    )


def plan_osteoporosis_rx_start(ctx: Context, rule: Rule) -> Plan:
    covering = exposure.anti_osteoporosis_on(ctx, ctx.identified)
    if covering:
        drug = covering[0]
        return Plan(why_not=f"{drug.drug.replace('_', ' ')} on treatment since {drug.start_date}")
    started = [m for m in ctx.meds(exposure.ANTI_OSTEOPOROSIS) if m.start_date >= ctx.identified]
    done = (
        (started[0].start_date, f"{started[0].drug.replace('_', ' ')} started on "
         f"{started[0].start_date}")
        if started
        else None
    )  # fmt: skip
    return single_plan(ctx.identified, ("no anti-osteoporosis drug on treatment",), done=done)


def plan_always_day0(ctx: Context, rule: Rule) -> Plan:
    return single_plan(ctx.identified, ("every fracture episode",))


def plan_pain_review_3w(ctx: Context, rule: Rule) -> Plan:
    due = add_days(ctx.identified, rule.offset_days)
    scores = [p for p in ctx.pain_scores() if p.effective_date >= due]
    done = (
        (scores[0].effective_date, f"pain score {fmt_value(scores[0].value)} recorded on "
         f"{scores[0].effective_date}")
        if scores
        else None
    )  # fmt: skip
    return single_plan(
        due,
        ("every fracture episode",),
        done=done,
        superseded_on=ctx.three_months,
        superseded_why="superseded by the 3-month augmentation review",
    )


def early_deformity(ctx: Context) -> list[Trigger]:
    out = []
    for kind, threshold in EARLY_AUG_THRESHOLDS.items():
        obs = ever_at_least(ctx, kind, threshold)
        if obs is not None:
            label = kind.removesuffix("_pct").replace("_", " ")
            out.append(
                Trigger(
                    obs.effective_date,
                    f"{label} {fmt_value(obs.value)} % ({threshold:g} % or more)",
                )
            )
    return out


def persistent_severe_pain(ctx: Context) -> Trigger | None:
    """Two pain scores >= 7 at or after day 21 (002:53; ">= 7" is the
    project's convention for "severe")."""
    start = add_days(ctx.identified, SEVERE_PAIN_FROM_DAY)
    severe = [
        p for p in ctx.pain_scores()
        if p.effective_date >= start and float(p.value) >= SEVERE_PAIN_NRS
    ]  # fmt: skip
    if len(severe) < SEVERE_PAIN_SCORES:
        return None
    second = severe[SEVERE_PAIN_SCORES - 1]
    return Trigger(
        second.effective_date,
        f"persistent severe pain: scores of 7 or more on {severe[0].effective_date} "
        f"and {second.effective_date}",
    )


def early_augmentation_triggers(ctx: Context) -> list[Trigger]:
    out = early_deformity(ctx)
    for kind in EARLY_AUG_FLAGS:
        for obs in ever_true(ctx, kind):
            out.append(
                Trigger(obs.effective_date, f"{kind.replace('_', ' ')} on {obs.effective_date}")
            )
    pain = persistent_severe_pain(ctx)
    if pain is not None:
        out.append(pain)
    return sorted(out, key=lambda t: t.on)


def plan_augmentation_consider_early(ctx: Context, rule: Rule) -> Plan:
    if ctx.procedure(AUGMENTATION):
        return Plan(why_not="vertebral augmentation already performed")
    triggers = [t for t in early_augmentation_triggers(ctx) if t.on < ctx.three_months]
    if not triggers:
        return Plan(why_not="no early-augmentation trigger before 3 months")
    return _reraised(ctx, rule, triggers)


def plan_augmentation_review_3m(ctx: Context, rule: Rule) -> Plan:
    proc = ctx.procedure(AUGMENTATION | {"surgery"})
    if proc is not None and proc.performed_date < ctx.three_months:
        return Plan(why_not=f"{proc.kind} performed on {proc.performed_date}")
    indications = []
    pain = ctx.latest("pain_nrs")
    if pain is not None:
        indications.append(f"latest pain score {fmt_value(pain.value)} on {pain.effective_date}")
    for kind in ("pain_med_contraindication", "parenteral_narcotics", "hospital_admission"):
        if ctx.flag_on(kind):
            indications.append(kind.replace("_", " "))
    return single_plan(
        add_months(ctx.identified, rule.offset_months),
        ("still in conservative management at 3 months", *indications),
    )


def plan_augmentation_reconsider(ctx: Context, rule: Rule) -> Plan:
    """After the 3-month review chose to continue conservative care, a severe
    pain score or worsening symptoms raise it again: fracture age does not
    change the outcome of augmentation (001:58, 002:61)."""
    review = ctx.person_closed("augmentation_review_3m")
    if review is None or review.outcome != "continue_conservative" or review.closed_on is None:
        return Plan(why_not="the 3-month review did not continue conservative care")
    if ctx.procedure(AUGMENTATION):
        return Plan(why_not="vertebral augmentation already performed")
    after = review.closed_on
    triggers = [
        Trigger(p.effective_date, f"pain score {fmt_value(p.value)} on {p.effective_date}")
        for p in ctx.pain_scores()
        if p.effective_date > after and float(p.value) >= SEVERE_PAIN_NRS
    ] + [
        Trigger(o.effective_date, f"worsening symptoms on {o.effective_date}")
        for o in ever_true(ctx, "worsening_symptoms")
        if o.effective_date > after
    ]
    if not triggers:
        return Plan(why_not="no severe pain or worsening symptoms since the 3-month review")
    return _reraised(ctx, rule, sorted(triggers, key=lambda t: t.on))


def plan_repeat_mri(ctx: Context, rule: Rule) -> Plan:
    """000:78, 003:78: MRI if symptoms change **or** imaging is > 3 months old.
    Changed symptoms after the latest spine MRI raise it whatever its age; an
    augmentation referral raises it when the latest spine MRI is > 3 months old."""
    reasons: list[tuple[date, str]] = []
    mris = spine_mris(ctx)
    for kind in ("symptoms_changed", "worsening_symptoms"):
        for obs in ever_true(ctx, kind):
            on = obs.effective_date
            before = [m.performed_date for m in mris if m.performed_date < on]
            last = max(before) if before else None
            age = "no spine MRI before" if last is None else f"latest spine MRI {last}"
            reasons.append((on, f"{kind.replace('_', ' ')} on {on}; {age}"))
    for code in ("augmentation_review_3m", "augmentation_consider_early"):
        decided = ctx.person_closed(code)
        if decided and decided.outcome == "offer_augmentation" and decided.closed_on:
            before = [m.performed_date for m in mris if m.performed_date <= decided.closed_on]
            last = max(before) if before else None
            if last is None or add_months(last, 3) < decided.closed_on:
                age = "no spine MRI" if last is None else f"latest spine MRI {last}"
                reasons.append(
                    (decided.closed_on, f"augmentation offered on {decided.closed_on}; {age}")
                )
    if not reasons:
        return Plan(why_not="no changed symptoms or augmentation referral needing an MRI")
    reasons.sort()
    occurrences = []
    for n, (on, text) in enumerate(reasons, start=1):
        after = [m for m in mris if m.performed_date >= on]
        done = (
            (after[0].performed_date, f"spine MRI on {after[0].performed_date}") if after else None
        )
        occurrences.append(Planned(n, add_days(on, rule.offset_days), (text,), done=done))
    return Plan(tuple(occurrences))
