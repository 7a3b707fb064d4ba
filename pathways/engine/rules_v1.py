"""Pathway version 1: the rules of docs/pathway.md, with their seeds.

Seeds: 000 junctional OVF management, 001 osteopenia + atraumatic VCF,
002 VCF treatment overview, 003 osteoporosis with lumbar VCF, 004 best
treatment for osteoporotic spine fracture (calcitonin, bone health).
"""

from __future__ import annotations

from datetime import date

from pathways.engine.context import (
    ANALGESICS,
    ANTI_OSTEOPOROSIS,
    AUGMENTATION,
    BISPHOSPHONATES,
    BMD_DECLINE_PCT_PER_YEAR,
    EARLY_AUG_FLAG_KINDS,
    EARLY_AUG_THRESHOLDS,
    NERVE_BLOCK_FROM_DAY,
    NERVE_BLOCK_PAIN,
    PAIN_WORSENING_POINTS,
    SURGICAL_HEIGHT_LOSS_PCT,
    SURGICAL_KYPHOSIS_PCT,
    SURGICAL_URGENT_KINDS,
    BmdChange,
    Context,
    Trigger,
    fmt_value,
)
from pathways.engine.dates import add_days, add_months
from pathways.engine.ruleset import Plan, Planned, Rule, single_plan

MAIN = frozenset({"triage", "acute", "conservative", "augmentation_review", "bone_health"})
BRANCHES = frozenset({"surgical", "pathologic_workup"})
OPEN_PHASES = MAIN | BRANCHES
EARLY = frozenset({"triage", "acute", "conservative", "augmentation_review"})
AUGMENTATION_OUTCOMES = ("offer_augmentation", "continue_conservative", "resolved")

AUGMENTATION_CONTROVERSY = (
    " The societies disagree: AAOS recommends against vertebroplasty (two level-I "
    "sham-controlled trials showed no difference in pain or function); ACR and SNIS "
    "support augmentation (benefit in pain, vertebral height, alignment, function and "
    "quality of life). The tracker reminds; the clinician decides."
)


# ----------------------------------------------------------------- triage --
def plan_neuro_exam(ctx: Context, rule: Rule) -> Plan:
    done = None
    if ctx.facts.neuro_status in ("intact", "deficit"):
        done = (ctx.identified, f"neuro status recorded as {ctx.facts.neuro_status}")
    else:
        # The exam was done when it was first recorded; later records are
        # follow-up exams and must not move the completion date.
        obs = ctx.first("neuro_deficit")
        if obs is not None:
            done = (
                obs.effective_date,
                f"neuro deficit {fmt_value(obs.value)} recorded on {obs.effective_date}",
            )
    return single_plan(ctx.identified, ("episode identified",), done=done)


def plan_red_flag_screen(ctx: Context, rule: Rule) -> Plan:
    done = None
    obs = ctx.first("malignancy_suspected")
    if obs is not None:
        done = (
            obs.effective_date,
            f"malignancy suspected = {fmt_value(obs.value)} recorded on {obs.effective_date}",
        )
    return single_plan(ctx.identified, ("episode identified",), done=done)


def plan_mri_initial(ctx: Context, rule: Rule) -> Plan:
    # Triage rules are raised at episode creation, when the episode has no
    # facts yet, so "no MRI recorded for this episode" always holds then; any
    # MRI recorded afterwards -- the diagnostic one included -- is the fact the
    # task asks for and completes it (spec: "an MRI completes mri_initial").
    mris = ctx.mris()
    done = (mris[0].performed_date, f"MRI performed on {mris[0].performed_date}") if mris else None
    return single_plan(
        add_days(ctx.identified, rule.offset_days),
        ("no MRI recorded for this episode",),
        done=done,
    )


# --------------------------------------------------------------- branches --
def surgical_urgent_triggers(ctx: Context) -> list[Trigger]:
    out: list[Trigger] = []
    if ctx.facts.neuro_status == "deficit":
        out.append(Trigger(ctx.identified, "neurological deficit on examination"))
    for kind in SURGICAL_URGENT_KINDS:
        obs = ctx.flag_on(kind)
        if obs is not None:
            out.append(
                Trigger(
                    obs.effective_date, f"{kind.replace('_', ' ')} recorded on {obs.effective_date}"
                )
            )
    return sorted(out, key=lambda t: t.on)


def plan_surgical_consult_urgent(ctx: Context, rule: Rule) -> Plan:
    triggers = surgical_urgent_triggers(ctx)
    if not triggers:
        return Plan(
            why_not="no neurological deficit, instability, canal compromise or deterioration"
        )
    occurrences: list[Planned] = []
    occurrence = 1
    texts = tuple(t.text for t in triggers)
    due = triggers[0].on
    # Progressive deterioration after a consult was done demands a new urgent
    # consult "regardless of fracture age" (seed 000): a true flag dated after
    # the previous consult was closed raises the next occurrence.
    while True:
        closed = ctx.person_closed(rule.code, occurrence)
        later = [t for t in triggers if closed and closed.closed_on and t.on > closed.closed_on]
        occurrences.append(Planned(occurrence, due, texts))
        if not later:
            break
        occurrence += 1
        due = later[0].on
        texts = tuple(t.text for t in later)
    return Plan(tuple(occurrences))


def deformity_surgical(ctx: Context) -> list[Trigger]:
    out = []
    kyph = ctx.first_at_least("kyphosis_pct", SURGICAL_KYPHOSIS_PCT)
    if kyph is not None:
        out.append(Trigger(kyph.effective_date, f"kyphosis {fmt_value(kyph.value)} % (>= 15 %)"))
    height = ctx.first_at_least("height_loss_pct", SURGICAL_HEIGHT_LOSS_PCT)
    if height is not None:
        out.append(
            Trigger(
                height.effective_date,
                f"vertebral height loss {fmt_value(height.value)} % (>= 20 %)",
            )
        )
    return sorted(out, key=lambda t: t.on)


def plan_surgical_consult(ctx: Context, rule: Rule) -> Plan:
    triggers = deformity_surgical(ctx)
    if not triggers:
        return Plan(why_not="no deformity at the surgical thresholds")
    return single_plan(triggers[0].on, tuple(t.text for t in triggers))


def malignancy_suspected(ctx: Context) -> Trigger | None:
    if ctx.facts.etiology == "pathologic_suspected":
        return Trigger(ctx.identified, "etiology recorded as pathologic (suspected)")
    obs = ctx.flag_on("malignancy_suspected")
    if obs is not None:
        return Trigger(obs.effective_date, f"malignancy suspected on {obs.effective_date}")
    red = ctx.person_closed("red_flag_screen")
    if red is not None and red.outcome == "red_flags_found" and red.closed_on is not None:
        return Trigger(red.closed_on, f"red flags found on screening ({red.closed_on})")
    return None


def pathologic_confirmed(ctx: Context) -> Trigger | None:
    if ctx.facts.etiology == "pathologic_confirmed":
        return Trigger(ctx.identified, "etiology recorded as pathologic (confirmed)")
    obs = ctx.flag_on("pathologic_confirmed")
    if obs is not None:
        return Trigger(obs.effective_date, f"pathologic fracture confirmed on {obs.effective_date}")
    return None


def branch_due(ctx: Context, rule: Rule, trig: Trigger) -> date:
    """Day 7 (from ``identified``: the spec names no other anchor), but a
    suspicion that arises later is due on the day it arises, never before it
    existed."""
    return max(add_days(ctx.identified, rule.offset_days), trig.on)


def plan_malignancy_workup(ctx: Context, rule: Rule) -> Plan:
    trig = malignancy_suspected(ctx) or pathologic_confirmed(ctx)
    if trig is None:
        return Plan(why_not="malignancy no longer suspected")
    contrast = [i for i in ctx.mris() if i.contrast and i.performed_date >= trig.on]
    done = (
        (contrast[0].performed_date, f"MRI with contrast performed on {contrast[0].performed_date}")
        if contrast
        else None
    )
    return single_plan(branch_due(ctx, rule, trig), (trig.text,), done=done)


def plan_oncology_mdt(ctx: Context, rule: Rule) -> Plan:
    trig = pathologic_confirmed(ctx)
    if trig is None:
        return Plan(why_not="pathologic fracture not confirmed")
    severe: list[str] = []
    pain = ctx.latest("pain_nrs")
    if pain is not None and float(pain.value) >= 7:
        severe.append(f"severe pain (NRS {fmt_value(pain.value)})")
    if ctx.flag_on("worsening_symptoms"):
        severe.append("worsening pain")
    if deformity_surgical(ctx) or early_deformity(ctx):
        severe.append("deformity")
    if ctx.flag_on("pulmonary_dysfunction"):
        severe.append("pulmonary dysfunction")
    if surgical_urgent_triggers(ctx):
        severe.append("neurological effects")
    advice = (
        "multidisciplinary IR + surgery + radiation oncology (" + ", ".join(severe) + ")"
        if severe
        else "radiation oncology consult (asymptomatic)"
    )
    return single_plan(branch_due(ctx, rule, trig), (trig.text, f"recommended: {advice}"))


# ----------------------------------------------------- acute/conservative --
def plan_calcitonin_start(ctx: Context, rule: Rule) -> Plan:
    presented_day = (ctx.identified - ctx.onset).days
    if presented_day > 5:
        return Plan(
            why_not=f"presented on day {presented_day} after onset: calcitonin window passed"
        )
    window_end = add_days(ctx.onset, 5)
    started = [m for m in ctx.meds({"calcitonin"}) if ctx.onset <= m.start_date <= window_end]
    done = (
        (started[0].start_date, f"calcitonin started on {started[0].start_date}")
        if started
        else None
    )
    return single_plan(
        window_end,
        (f"presented on day {presented_day} after onset (within 0-5 days)",),
        done=done,
        window_end=window_end,
    )


def plan_calcitonin_stop(ctx: Context, rule: Rule) -> Plan:
    courses = [m for m in ctx.meds({"calcitonin"}) if m.start_date >= ctx.onset]
    if not courses:
        return Plan(why_not="calcitonin not started")
    course = courses[0]
    done = None
    if course.stop_date is not None and course.stop_date <= ctx.as_of:
        done = (course.stop_date, f"calcitonin stopped on {course.stop_date}")
    return single_plan(
        add_days(course.start_date, rule.offset_days),
        (f"calcitonin started on {course.start_date}",),
        done=done,
    )


def plan_osteoporosis_rx_start(ctx: Context, rule: Rule) -> Plan:
    at_identification = ctx.active(ANTI_OSTEOPOROSIS, ctx.identified)
    if at_identification:
        drug = at_identification[0]
        return Plan(why_not=f"{drug.drug} active since {drug.start_date}")
    started = [m for m in ctx.meds(ANTI_OSTEOPOROSIS) if m.start_date >= ctx.identified]
    done = (
        (started[0].start_date, f"{started[0].drug} started on {started[0].start_date}")
        if started
        else None
    )
    return single_plan(ctx.identified, ("no anti-osteoporosis drug active",), done=done)


def plan_calcium_vitamin_d(ctx: Context, rule: Rule) -> Plan:
    calcium = ctx.meds({"calcium"})
    vitamin_d = ctx.meds({"vitamin_d"})
    done = None
    if calcium and vitamin_d:
        on = max(calcium[0].start_date, vitamin_d[0].start_date, ctx.identified)
        done = (on, "calcium and vitamin D recorded")
    return single_plan(ctx.identified, ("every fracture episode",), done=done)


def plan_always_day0(ctx: Context, rule: Rule) -> Plan:
    return single_plan(ctx.identified, ("every fracture episode",))


def plan_opioid_review(ctx: Context, rule: Rule) -> Plan:
    opioids = [m for m in ctx.meds({"opioid"}) if m.start_date >= ctx.onset]
    if not opioids:
        return Plan(why_not="no opioid in the analgesic regimen")
    return Plan(
        tuple(
            Planned(
                n,
                add_days(med.start_date, rule.offset_days),
                (f"opioid recorded from {med.start_date}",),
            )
            for n, med in enumerate(opioids, start=1)
        )
    )


def plan_pain_review_3w(ctx: Context, rule: Rule) -> Plan:
    due = ctx.day(21)
    scores = [p for p in ctx.pain_scores() if p.effective_date >= due]
    done = (
        (
            scores[0].effective_date,
            f"pain NRS {fmt_value(scores[0].value)} recorded on {scores[0].effective_date}",
        )
        if scores
        else None
    )
    # The 3-month review supersedes a 3-week review that never happened.
    return single_plan(
        due,
        ("every fracture episode",),
        done=done,
        superseded_on=ctx.three_months,
        superseded_why="superseded by the 3-month augmentation review",
    )


def plan_nerve_root_block(ctx: Context, rule: Rule) -> Plan:
    levels = set(ctx.facts.levels)
    if not levels & {"L3", "L4"}:
        return Plan(why_not="fracture not at L3 or L4")
    start = ctx.day(NERVE_BLOCK_FROM_DAY)
    for pain in ctx.pain_scores():
        if pain.effective_date >= start and float(pain.value) >= NERVE_BLOCK_PAIN:
            return single_plan(
                pain.effective_date,
                (
                    f"fracture at {'/'.join(sorted(levels & {'L3', 'L4'}))}",
                    f"pain NRS {fmt_value(pain.value)} on {pain.effective_date} "
                    f"(day {(pain.effective_date - ctx.identified).days}, persists >= 4 weeks)",
                ),
            )
    return Plan(why_not="no pain >= 7/10 on a review at or after day 28")


def early_deformity(ctx: Context) -> list[Trigger]:
    out = []
    for kind, threshold in EARLY_AUG_THRESHOLDS.items():
        obs = ctx.first_at_least(kind, threshold)
        if obs is not None:
            label = kind.removesuffix("_pct").replace("_", " ")
            out.append(
                Trigger(
                    obs.effective_date, f"{label} {fmt_value(obs.value)} % (>= {threshold:g} %)"
                )
            )
    return out


def pain_worsening(ctx: Context) -> Trigger | None:
    """Pain rising by >= 2 NRS points while an analgesic is active."""
    scores = ctx.pain_scores()
    for previous, current in zip(scores, scores[1:], strict=False):
        rise = float(current.value) - float(previous.value)
        if rise >= PAIN_WORSENING_POINTS and ctx.active(ANALGESICS, current.effective_date):
            return Trigger(
                current.effective_date,
                f"pain rose from {fmt_value(previous.value)} to {fmt_value(current.value)} "
                f"on {current.effective_date} despite analgesics",
            )
    return None


def early_augmentation_triggers(ctx: Context) -> list[Trigger]:
    out = early_deformity(ctx)
    for kind in EARLY_AUG_FLAG_KINDS:
        obs = ctx.flag_on(kind)
        if obs is not None:
            out.append(
                Trigger(obs.effective_date, f"{kind.replace('_', ' ')} on {obs.effective_date}")
            )
    worse = pain_worsening(ctx)
    if worse is not None:
        out.append(worse)
    return sorted(out, key=lambda t: t.on)


def plan_augmentation_consider_early(ctx: Context, rule: Rule) -> Plan:
    if ctx.procedure(AUGMENTATION):
        return Plan(why_not="vertebral augmentation already performed")
    triggers = [t for t in early_augmentation_triggers(ctx) if t.on < ctx.three_months]
    if not triggers:
        return Plan(why_not="no early-augmentation trigger before 3 months")
    return single_plan(triggers[0].on, tuple(t.text for t in triggers))


def augmentation_indications(ctx: Context) -> list[str]:
    out = []
    pain = ctx.latest("pain_nrs")
    if pain is not None:
        out.append(f"latest pain NRS {fmt_value(pain.value)} on {pain.effective_date}")
    for kind in ("pain_med_contraindication", "parenteral_narcotics", "hospital_admission"):
        if ctx.flag_on(kind):
            out.append(kind.replace("_", " "))
    return out


def plan_augmentation_review_3m(ctx: Context, rule: Rule) -> Plan:
    proc = ctx.procedure(AUGMENTATION | {"surgery"})
    if proc is not None and proc.performed_date < ctx.three_months:
        return Plan(why_not=f"{proc.kind} performed on {proc.performed_date}")
    return single_plan(
        ctx.three_months,
        ("still in conservative management at 3 months", *augmentation_indications(ctx)),
    )


def plan_repeat_mri(ctx: Context, rule: Rule) -> Plan:
    reasons: list[tuple[date, str]] = []
    seen: set[str] = set()
    for kind in ("symptoms_changed", "worsening_symptoms"):
        for obs in ctx.by_kind.get(kind, []):
            if obs.value is True and obs.id not in seen:
                seen.add(obs.id)
                last = ctx.last_spine_imaging_before(obs.effective_date)
                if last is None or add_months(last, 3) < obs.effective_date:
                    age = "no spine imaging" if last is None else f"last spine imaging {last}"
                    reasons.append(
                        (
                            obs.effective_date,
                            f"{kind.replace('_', ' ')} on {obs.effective_date}; {age}",
                        )
                    )
    # Before an augmentation referral the MRI must be recent (seed 000).
    for code in ("augmentation_review_3m", "augmentation_consider_early"):
        decided = ctx.person_closed(code)
        if decided and decided.outcome == "offer_augmentation" and decided.closed_on:
            last = ctx.last_spine_imaging_before(decided.closed_on, mri_only=True)
            if last is None or add_months(last, 3) < decided.closed_on:
                age = "no MRI" if last is None else f"last MRI {last}"
                reasons.append(
                    (decided.closed_on, f"augmentation offered on {decided.closed_on}; {age}")
                )
    if not reasons:
        return Plan(why_not="no new symptoms with imaging older than 3 months")
    reasons.sort()
    occurrences = []
    for n, (on, text) in enumerate(reasons, start=1):
        after = [m for m in ctx.mris() if m.performed_date >= on]
        done = (
            (after[0].performed_date, f"MRI performed on {after[0].performed_date}")
            if after
            else None
        )
        occurrences.append(Planned(n, add_days(on, rule.offset_days), (text,), done=done))
    return Plan(tuple(occurrences))


# ------------------------------------------------------------ bone health --
def treatment_start(ctx: Context) -> tuple[date, str] | None:
    """First start of anti-osteoporosis treatment (or long-term calcitonin)."""
    starts = [(m.start_date, m.drug) for m in ctx.meds(ANTI_OSTEOPOROSIS)]
    for med in ctx.meds({"calcitonin"}):
        # Calcitonin beyond the 4-week acute course is osteoporosis treatment
        # (seed 004 monitors its BMD yearly).
        long_term = add_days(med.start_date, 28)
        if med.stop_date is not None:
            if long_term < med.stop_date:
                starts.append((med.start_date, "calcitonin"))
        elif ctx.reached(long_term):
            starts.append((med.start_date, "calcitonin"))
    return min(starts) if starts else None


def on_treatment(ctx: Context) -> bool:
    """On anti-osteoporosis treatment as of ``as_of`` (long-term calcitonin counts)."""
    if ctx.active(ANTI_OSTEOPOROSIS, ctx.as_of):
        return True
    return any(
        m.active_on(ctx.as_of) and ctx.reached(add_days(m.start_date, 28))
        for m in ctx.meds({"calcitonin"})
    )


def plan_bmd_dxa(ctx: Context, rule: Rule) -> Plan:
    start = treatment_start(ctx)
    if start is None:
        return Plan(why_not="not on anti-osteoporosis treatment")
    start_date, drug = start
    scan_dates = sorted({s.performed_date for s in ctx.dxa if s.performed_date > start_date})
    occurrences = []
    anchor = start_date
    anchor_text = f"{drug} started on {start_date}"
    for n in range(1, len(scan_dates) + 2):
        due = add_months(anchor, 12)
        done_on = scan_dates[n - 1] if n - 1 < len(scan_dates) else None
        if done_on is None and not on_treatment(ctx):
            break
        if done_on is None:
            # "first one: treatment start + 12 months": after a break in
            # treatment (a gap of more than COURSE_GAP_DAYS) the current
            # course's start counts, not a start or a DXA from years before.
            course = ctx.course_start(ANTI_OSTEOPOROSIS, ctx.as_of)
            if course is not None and course > anchor:
                due = add_months(course, 12)
                anchor_text = f"treatment restarted on {course}"
        occurrences.append(
            Planned(
                n,
                due,
                (anchor_text,),
                done=(done_on, f"DXA performed on {done_on}") if done_on else None,
            )
        )
        if done_on is None:
            break
        anchor = done_on
        anchor_text = f"last DXA on {done_on}"
    if not occurrences:
        return Plan(why_not="not on anti-osteoporosis treatment")
    return Plan(tuple(occurrences))


def plan_calcitonin_switch(ctx: Context, rule: Rule) -> Plan:
    by_site: dict[str, list[BmdChange]] = {}
    for change in ctx.bmd_series():
        by_site.setdefault(change.site, []).append(change)
    hits: dict[date, str] = {}
    for site, changes in by_site.items():
        for first, second in zip(changes, changes[1:], strict=False):
            # "falls more than 4 % per year over two successive years" (seed 004):
            # two successive yearly changes, both below -4 %/yr, on calcitonin.
            if (
                first.pct_per_year < BMD_DECLINE_PCT_PER_YEAR
                and second.pct_per_year < BMD_DECLINE_PCT_PER_YEAR
                and ctx.active({"calcitonin"}, second.to)
            ):
                hits.setdefault(
                    second.to,
                    f"{site.replace('_', ' ')} BMD fell {first.shown} %/yr then "
                    f"{second.shown} %/yr on calcitonin",
                )
    if not hits:
        return Plan(why_not="no two successive yearly BMD falls > 4 % on calcitonin")
    return Plan(tuple(Planned(n, on, (hits[on],)) for n, on in enumerate(sorted(hits), start=1)))


def plan_calcitonin_restart(ctx: Context, rule: Rule) -> Plan:
    stopped = [m.stop_date for m in ctx.meds({"calcitonin"}) if m.stop_date is not None]
    if not stopped:
        return Plan(why_not="calcitonin never stopped")
    stop = max(stopped)
    latest_by_site: dict[str, BmdChange] = {}
    for change in ctx.bmd_series():
        latest_by_site[change.site] = change
    hits: dict[date, str] = {}
    for site, change in latest_by_site.items():
        if (
            change.pct_per_year < BMD_DECLINE_PCT_PER_YEAR
            and change.to > stop
            and not ctx.active({"calcitonin"}, change.to)
        ):
            hits.setdefault(
                change.to,
                f"calcitonin stopped on {stop}; {site.replace('_', ' ')} BMD fell "
                f"{change.shown} %/yr by {change.to}",
            )
    if not hits:
        return Plan(why_not="no yearly BMD fall > 4 % after calcitonin was stopped")
    return Plan(tuple(Planned(n, on, (hits[on],)) for n, on in enumerate(sorted(hits), start=1)))


def plan_bisphosphonate_duration(ctx: Context, rule: Rule) -> Plan:
    start = ctx.course_start(BISPHOSPHONATES, ctx.as_of)
    if start is None:
        return Plan(why_not="no bisphosphonate active")
    return single_plan(add_months(start, 36), (f"bisphosphonate course since {start}",))


def plan_renal_function(ctx: Context, rule: Rule) -> Plan:
    start = ctx.course_start(BISPHOSPHONATES, ctx.as_of)
    if start is None:
        return Plan(why_not="no bisphosphonate active")
    occurrences: list[Planned] = []
    n = 1
    while True:
        due = add_months(start, 12 * n)
        nxt = add_months(start, 12 * (n + 1))
        nxt_visible = add_days(nxt, -rule.effective_lead)
        occurrences.append(
            Planned(
                n,
                due,
                (f"bisphosphonate course since {start}",),
                superseded_on=nxt_visible,
                superseded_why="next yearly renal check raised",
            )
        )
        # Plan one occurrence past today so the projected plan shows it.
        if add_days(due, -rule.effective_lead) > ctx.as_of:
            break
        n += 1
    return Plan(tuple(occurrences))


def plan_denosumab_dose(ctx: Context, rule: Rule) -> Plan:
    doses = sorted(ctx.meds({"denosumab"}), key=lambda m: m.start_date)
    if not doses:
        return Plan(why_not="denosumab not started")
    occurrences = []
    for n, dose in enumerate(doses, start=1):
        nxt = doses[n] if n < len(doses) else None
        if nxt is None and dose.stop_date is not None:
            break  # therapy stopped: no next dose is due
        occurrences.append(
            Planned(
                n,
                add_months(dose.start_date, 6),
                (f"denosumab dose on {dose.start_date}",),
                done=(nxt.start_date, f"denosumab dose given on {nxt.start_date}") if nxt else None,
            )
        )
    if not occurrences:
        return Plan(why_not="denosumab stopped")
    return Plan(tuple(occurrences))


def plan_new_fracture_screen(ctx: Context, rule: Rule) -> Plan:
    return single_plan(ctx.twelve_months, ("12 months after identification",))


RULES_V1 = (
    Rule(
        code="neuro_exam",
        title="Document a complete neurological exam",
        guidance="Document a complete neurological exam: motor function, sensory levels, "
        "reflexes and sphincter control. It is the baseline against which deterioration is "
        "judged; a deficit makes conservative management contraindicated.",
        seed_refs=("000", "002"),
        group="triage",
        phases=OPEN_PHASES,
        anchor="identified",
        trigger="always",
        priority="urgent",
        expires_at_12_months=True,
        completes_by="a neuro status of intact or deficit",
        planner=plan_neuro_exam,
    ),
    Rule(
        code="red_flag_screen",
        title="Screen red flags",
        guidance="Screen red flags: known malignancy, neurological symptoms, signs of "
        "instability, multiple fractures with atypical features. Close with the outcome "
        '"clear" or "red flags found".',
        seed_refs=("002", "000"),
        group="triage",
        phases=OPEN_PHASES,
        anchor="identified",
        trigger="always",
        expires_at_12_months=True,
        outcomes=("clear", "red_flags_found"),
        completes_by="a malignancy-suspected observation (true or false)",
        planner=plan_red_flag_screen,
    ),
    Rule(
        code="mri_initial",
        title="MRI spine without contrast",
        guidance="MRI of the spine without contrast: bone marrow edema means an acute "
        "fracture; it also separates osteoporotic from pathologic fractures.",
        seed_refs=("002",),
        group="triage",
        phases=OPEN_PHASES,
        anchor="identified",
        offset_days=7,
        trigger="no MRI recorded for this episode",
        expires_at_12_months=True,
        completes_by="an MRI",
        planner=plan_mri_initial,
    ),
    Rule(
        code="surgical_consult_urgent",
        title="Immediate surgical consultation",
        guidance="Immediate surgical consultation. Conservative management is "
        "contraindicated with a neurological deficit; progressive neurological "
        "deterioration demands urgent decompression regardless of fracture age.",
        seed_refs=("000", "002", "003"),
        group="branch",
        phases=OPEN_PHASES,
        anchor="trigger",
        trigger="neurological deficit, instability, canal compromise / cord compression, "
        "or progressive neurological deterioration",
        priority="urgent",
        outcomes=("surgery_planned", "surgery_not_indicated"),
        planner=plan_surgical_consult_urgent,
    ),
    Rule(
        code="surgical_consult",
        title="Surgical consultation for deformity",
        guidance="Surgical consultation for spinal deformity (kyphosis >= 15 %, vertebral "
        "body height loss >= 20 %, junctional kyphosis, retropulsion).",
        seed_refs=("000", "003"),
        group="branch",
        phases=OPEN_PHASES,
        anchor="trigger",
        trigger="kyphosis >= 15 % or vertebral body height loss >= 20 %",
        # "Immediately" but not urgent in the spec: high priority, default grace.
        priority="high",
        outcomes=("surgery_planned", "surgery_not_indicated"),
        planner=plan_surgical_consult,
    ),
    Rule(
        code="malignancy_workup",
        title="Malignancy work-up: MRI whole spine with contrast",
        guidance="MRI of the complete spine without and with IV contrast; image-guided "
        "biopsy if imaging is ambiguous.",
        seed_refs=("002", "000"),
        group="branch",
        phases=OPEN_PHASES,
        anchor="identified (not before the trigger)",
        offset_days=7,
        trigger="malignancy suspected (known malignancy, atypical features, multiple "
        "fractures with atypical features)",
        priority="high",
        completes_by="an MRI with contrast after the suspicion",
        planner=plan_malignancy_workup,
    ),
    Rule(
        code="oncology_mdt",
        title="Oncology referral for pathologic fracture",
        guidance="Radiation oncology consult if asymptomatic; multidisciplinary "
        "interventional radiology + surgery + radiation oncology if severe or worsening "
        "pain, deformity, pulmonary dysfunction or neurological effects.",
        seed_refs=("002",),
        group="branch",
        phases=OPEN_PHASES,
        anchor="identified (not before the trigger)",
        offset_days=7,
        trigger="pathologic fracture confirmed",
        priority="high",
        planner=plan_oncology_mdt,
    ),
    Rule(
        code="calcitonin_start",
        title="Start calcitonin for acute pain (4 weeks)",
        guidance="Calcitonin 200 IU nasal spray or suppository daily for 4 weeks "
        "(alternative 100 IU SC/IM every other day). It gives clinically important pain "
        "relief at 1-4 weeks; side effects are mild (dizziness). Only within days 0-5 of onset.",
        seed_refs=("004", "002", "003"),
        group="acute",
        phases=EARLY,
        anchor="onset",
        offset_days=5,
        window="onset + 5 days",
        trigger="presented within 0-5 days of onset",
        priority="high",
        lead_days=14,
        expires_at_12_months=True,
        completes_by="a calcitonin start within the window",
        planner=plan_calcitonin_start,
    ),
    Rule(
        code="calcitonin_stop",
        title="Stop calcitonin after 4 weeks; review pain",
        guidance="Stop calcitonin after the 4-week course and review pain.",
        seed_refs=("004", "002"),
        group="acute",
        phases=EARLY,
        anchor="calcitonin start",
        offset_days=28,
        trigger="calcitonin started",
        expires_at_12_months=True,
        completes_by="a calcitonin stop date",
        planner=plan_calcitonin_stop,
    ),
    Rule(
        code="osteoporosis_rx_start",
        title="Start anti-osteoporosis pharmacotherapy now",
        guidance="Start pharmacotherapy now; do not wait for the pain to settle (20 % risk "
        "of another vertebral fracture within 12 months). First line an oral "
        "bisphosphonate (alendronate, risedronate; ibandronate specifically for an existing "
        "VCF); zoledronic acid for oral intolerance, dementia, malabsorption or "
        "non-compliance; denosumab 60 mg SC every 6 months if bisphosphonates are "
        "contraindicated; teriparatide or romosozumab if very high risk.",
        seed_refs=("000", "003", "004"),
        group="acute",
        phases=OPEN_PHASES,
        anchor="identified",
        trigger="no anti-osteoporosis drug active",
        priority="high",
        expires_at_12_months=True,
        completes_by="an anti-osteoporosis drug start",
        planner=plan_osteoporosis_rx_start,
    ),
    Rule(
        code="calcium_vitamin_d",
        title="Calcium and vitamin D",
        guidance="Calcium 1000-1200 mg/day and vitamin D 800 IU/day; avoid high pulse "
        "doses of vitamin D (they increase falls).",
        seed_refs=("002", "003", "004"),
        group="acute",
        phases=OPEN_PHASES,
        anchor="identified",
        trigger="always",
        expires_at_12_months=True,
        completes_by="calcium and vitamin D recorded",
        planner=plan_calcium_vitamin_d,
    ),
    Rule(
        code="mobilisation",
        title="Mobilise: avoid bed rest",
        guidance="Avoid bed rest (about 1 % bone loss a week); walking in 10-minute periods, "
        "increasing; NSAIDs are first-line analgesia.",
        seed_refs=("002", "003"),
        group="acute",
        phases=OPEN_PHASES,
        anchor="identified",
        trigger="always",
        expires_at_12_months=True,
        planner=plan_always_day0,
    ),
    Rule(
        code="opioid_review",
        title="Review opioid use",
        guidance="Review opioid use: sedation, nausea, falls and deconditioning in elderly "
        "osteoporotic patients; NSAIDs first line.",
        seed_refs=("000", "002", "003"),
        group="acute",
        phases=OPEN_PHASES,
        anchor="opioid record",
        offset_days=7,
        trigger="an opioid in the analgesic regimen",
        expires_at_12_months=True,
        planner=plan_opioid_review,
    ),
    Rule(
        code="pain_review_3w",
        title="3-week pain and function review",
        guidance="Pain and function review. Persistent severe pain from 3 weeks on makes "
        "the patient a candidate for vertebral augmentation.",
        seed_refs=("002",),
        group="acute",
        phases=OPEN_PHASES,
        anchor="identified",
        offset_days=21,
        window="until the 3-month review falls due",
        trigger="always",
        expires_at_12_months=True,
        completes_by="a pain score at or after day 21",
        planner=plan_pain_review_3w,
    ),
    Rule(
        code="nerve_root_block_consider",
        title="Consider an L2 nerve root block",
        guidance="Consider an L2 nerve root block for an L3 or L4 fracture with pain "
        "persisting at 4 weeks or more.",
        seed_refs=("003", "004"),
        group="conservative",
        phases=EARLY,
        anchor="the pain review",
        trigger="fracture at L3 or L4 and pain >= 7/10 on a review at or after day 28",
        expires_at_12_months=True,
        outcomes=("block_planned", "not_indicated"),
        planner=plan_nerve_root_block,
    ),
    Rule(
        code="augmentation_review_3m",
        title="3-month review: vertebral augmentation?",
        guidance="3-month review. Offer vertebral augmentation (vertebroplasty or "
        "kyphoplasty) if pain is refractory to oral medication, pain medication is "
        "contraindicated, or parenteral narcotics / hospital admission were needed."
        + AUGMENTATION_CONTROVERSY,
        seed_refs=("000", "001", "002", "003", "004"),
        group="conservative",
        phases=frozenset({"triage", "acute", "conservative", "augmentation_review"}),
        anchor="identified",
        offset_months=3,
        trigger="still in conservative management",
        expires_at_12_months=True,
        outcomes=AUGMENTATION_OUTCOMES,
        planner=plan_augmentation_review_3m,
    ),
    Rule(
        code="augmentation_consider_early",
        title="Consider vertebral augmentation before 3 months",
        guidance="Consider vertebral augmentation before 3 months: deformity (kyphosis >= "
        "15 %, scoliosis >= 10 %, dorsal wall height reduction >= 10 %, height loss >= 20 %), "
        "pulmonary dysfunction, parenteral narcotics or hospital admission for pain, "
        "contraindication to pain medication, or worsening symptoms despite medication."
        + AUGMENTATION_CONTROVERSY,
        seed_refs=("001", "002", "003"),
        group="conservative",
        phases=EARLY,
        anchor="trigger",
        trigger="an early-augmentation trigger before 3 months",
        priority="high",
        expires_at_12_months=True,
        outcomes=AUGMENTATION_OUTCOMES,
        planner=plan_augmentation_consider_early,
    ),
    Rule(
        code="repeat_mri",
        title="Repeat MRI: new fracture?",
        guidance="Repeat MRI to look for a new fracture. Do not assume all pain comes from "
        "the known fracture; edema resolves within 1-3 months, so it is not a precise "
        "measure of fracture age.",
        seed_refs=("000", "003"),
        group="conservative",
        phases=OPEN_PHASES,
        anchor="the record",
        offset_days=7,
        trigger="new or changed symptoms with spine imaging older than 3 months (or none); "
        "an augmentation referral with an MRI older than 3 months",
        completes_by="an MRI after the trigger",
        planner=plan_repeat_mri,
    ),
    Rule(
        code="bmd_dxa",
        title="Yearly bone density (DXA)",
        guidance="Yearly bone mineral density (DXA) while on treatment.",
        seed_refs=("004",),
        group="bone_health",
        phases=OPEN_PHASES,
        anchor="last DXA (first: treatment start)",
        offset_months=12,
        recurs_months=12,
        trigger="on anti-osteoporosis treatment",
        patient_level=True,
        completes_by="a DXA",
        planner=plan_bmd_dxa,
    ),
    Rule(
        code="calcitonin_switch",
        title="Switch calcitonin to a bisphosphonate",
        guidance="BMD fell more than 4 % a year on two successive yearly DXAs on calcitonin: "
        "switch to a bisphosphonate.",
        seed_refs=("004",),
        group="bone_health",
        phases=OPEN_PHASES,
        anchor="the second DXA",
        trigger="on calcitonin and BMD fell > 4 %/yr on two successive yearly DXAs",
        priority="high",
        patient_level=True,
        planner=plan_calcitonin_switch,
    ),
    Rule(
        code="calcitonin_restart",
        title="Consider restarting calcitonin",
        guidance="Calcitonin was stopped and the latest yearly BMD fell more than 4 %: "
        "consider restarting calcitonin.",
        seed_refs=("004",),
        group="bone_health",
        phases=OPEN_PHASES,
        anchor="the DXA",
        trigger="calcitonin stopped and the latest yearly BMD fell > 4 %",
        priority="high",
        patient_level=True,
        planner=plan_calcitonin_restart,
    ),
    Rule(
        code="bisphosphonate_duration_review",
        title="Review bisphosphonate duration",
        guidance="Review treatment duration: 3-5 years initially, longer if still at high "
        "risk; watch for osteonecrosis of the jaw and atypical femoral fracture.",
        seed_refs=("004",),
        group="bone_health",
        phases=OPEN_PHASES,
        anchor="bisphosphonate course start",
        offset_months=36,
        trigger="bisphosphonate active",
        patient_level=True,
        planner=plan_bisphosphonate_duration,
    ),
    Rule(
        code="renal_function",
        title="Check renal function (bisphosphonate)",
        guidance="Check renal function on chronic bisphosphonate therapy.",
        seed_refs=("004",),
        group="bone_health",
        phases=OPEN_PHASES,
        anchor="bisphosphonate course start",
        offset_months=12,
        recurs_months=12,
        trigger="bisphosphonate active",
        patient_level=True,
        planner=plan_renal_function,
    ),
    Rule(
        code="denosumab_dose",
        title="Next denosumab 60 mg SC dose",
        guidance="Next denosumab 60 mg SC dose, every 6 months. Do not let it lapse: "
        "stopping denosumab is followed by rapid bone loss.",
        seed_refs=("003",),
        group="bone_health",
        phases=OPEN_PHASES,
        anchor="last dose",
        offset_months=6,
        recurs_months=6,
        trigger="denosumab active",
        grace_days=28,
        patient_level=True,
        completes_by="a denosumab dose",
        planner=plan_denosumab_dose,
    ),
    Rule(
        code="new_fracture_screen_12m",
        title="Screen for a new vertebral fracture (12 months)",
        guidance="Screen for a new vertebral fracture (20 % risk within 12 months): height "
        "loss, new back pain; MRI if symptoms changed.",
        seed_refs=("000", "003"),
        group="bone_health",
        phases=OPEN_PHASES,
        anchor="identified",
        offset_months=12,
        trigger="always",
        planner=plan_new_fracture_screen,
    ),
    Rule(
        code="falls_prevention",
        title="Falls risk assessment and prevention",
        guidance="Fall-risk assessment and fall-prevention education.",
        seed_refs=("001",),
        group="acute",
        phases=OPEN_PHASES,
        anchor="identified",
        trigger="always",
        planner=plan_always_day0,
    ),
)

# Rules the branches suppress: "While an episode is in surgical or
# pathologic_workup, the conservative rules (calcitonin, 3-month augmentation
# review, nerve root block) are not raised." Early augmentation belongs to the
# same decision and is suppressed with the 3-month review: with a deficit,
# conservative care is contraindicated (seed 000); a pathologic fracture goes
# to the oncology MDT, which includes interventional radiology (seed 002).
SUPPRESSED_IN_BRANCH = frozenset(
    {
        "calcitonin_start",
        "calcitonin_stop",
        "augmentation_review_3m",
        "augmentation_consider_early",
        "nerve_root_block_consider",
    }
)
