"""Pathway version 2 (pathway-spec "Version 2"): the patient's bone-health
programme, the seeds' corrections, and old records that do not flood the
worklist. Every guidance sentence cites its seed line (file:line of
docs/seeds); "project convention" marks a number the spec sets itself."""

from __future__ import annotations

from pathways.engine.rules_v1 import (
    OPEN_PHASES,
    plan_calcitonin_stop,
    plan_nerve_root_block,
    plan_opioid_review,
)
from pathways.engine.ruleset import Rule, RuleSet
from pathways.engine.v2 import episode_rules as ep
from pathways.engine.v2 import phases
from pathways.engine.v2 import programme_rules as pr

EARLY = frozenset({"triage", "acute", "conservative", "augmentation_review"})
AUGMENTATION_OUTCOMES = (
    "offer_augmentation",
    "continue_conservative",
    "refer_surgery",
    "resolved",
)
CONSULT_OUTCOMES = ("surgery_done", "surgery_planned", "surgery_not_indicated")

AUGMENTATION_POSITIONS = (
    " The guidelines disagree. Against routine augmentation: the evidence does not "
    "support routine vertebral augmentation over conservative treatment, and the AAOS "
    "makes a strong recommendation against vertebroplasty (004:64-68, 004:103). For: "
    "the ACR and SNIS support augmentation, and the ASA agrees minimally invasive "
    "procedures may be used for pain from compression fractures (000:58-59). The "
    "tracker reminds; the clinician decides."
)

EPISODE_RULES = (
    Rule(
        code="neuro_exam",
        title="Document a complete neurological exam",
        guidance="Document a complete neurological examination to establish the baseline "
        "of motor function, sensory levels, reflexes and sphincter control (000:90). "
        "Conservative management is contraindicated when neurologic deficits are present "
        "(000:86).",
        seed_refs=("000:90", "000:86", "002:25"),
        group="triage",
        phases=OPEN_PHASES,
        anchor="identified",
        trigger="always",
        priority="urgent",
        expires_at_12_months=True,
        completes_by="a recorded neurological status or exam (done on the exam's date)",
        planner=ep.plan_neuro_exam,
    ),
    Rule(
        code="red_flag_screen",
        title="Screen red flags",
        guidance="Assess red flags: known malignancy, neurological symptoms, signs of spinal "
        "instability (002:26). Multiple vertebral fractures should raise suspicion of "
        "malignancy, particularly with atypical clinical features (000:79). Close with the "
        'outcome "clear" or "red flags found".',
        seed_refs=("002:26", "000:79"),
        group="triage",
        phases=OPEN_PHASES,
        anchor="identified",
        trigger="always",
        expires_at_12_months=True,
        outcomes=("clear", "red_flags_found"),
        completes_by="a malignancy-suspected observation (yes or no)",
        planner=ep.plan_red_flag_screen,
    ),
    Rule(
        code="mri_initial",
        title="MRI spine without contrast",
        guidance="MRI of the spine without contrast: bone marrow edema indicates an acute "
        "injury, and it differentiates osteoporotic from pathologic fractures (002:24).",
        seed_refs=("002:24",),
        group="triage",
        phases=OPEN_PHASES,
        anchor="identified",
        offset_days=7,
        trigger="no spine MRI recorded for this episode",
        expires_at_12_months=True,
        completes_by="an MRI of a spine region (cervical, thoracic, lumbar or whole spine)",
        planner=ep.plan_mri_initial,
    ),
    Rule(
        code="surgical_consult_urgent",
        title="Immediate surgical consultation",
        guidance="Immediate surgical referral is mandatory for any neurological deficit, with "
        "corticosteroid therapy started immediately and surgery as soon as possible "
        "(002:69); also for frank spinal instability (002:70) and spinal cord compression "
        "(002:71). Progressive neurological deterioration demands urgent surgical "
        "decompression regardless of fracture age (000:91). Close with the consult's "
        "outcome: surgery done, surgery planned, or surgery not indicated (the episode "
        "then returns to conservative care).",
        seed_refs=("002:69", "002:70", "002:71", "000:91", "000:86"),
        group="branch",
        phases=OPEN_PHASES,
        anchor="trigger",
        trigger="neurological deficit, instability, canal compromise / cord compression, "
        "or progressive neurological deterioration",
        priority="urgent",
        expires_at_12_months=True,
        raises_after_expiry=True,
        outcomes=CONSULT_OUTCOMES,
        planner=ep.plan_surgical_consult_urgent,
    ),
    Rule(
        code="surgical_consult",
        title="Surgical consultation",
        guidance="Surgical consultation for spinal deformity: 15 % or more kyphosis, 20 % or "
        "more vertebral body height loss (000:70), junctional kyphosis or retropulsion "
        "(003:71); for unstable fractures with ongoing collapse, progressive kyphosis or "
        "chronic pseudarthrosis, and persistent intractable back pain despite "
        "conservative management (004:75-78).",
        seed_refs=("000:70", "003:71", "004:75", "004:76", "004:78"),
        group="branch",
        phases=OPEN_PHASES,
        anchor="trigger",
        trigger="deformity at the surgical thresholds, junctional kyphosis, retropulsion, "
        "pseudarthrosis, progressive collapse, or the 3-month review referring for surgery",
        # "Immediately" but not urgent in the spec: high priority, default grace.
        priority="high",
        expires_at_12_months=True,
        raises_after_expiry=True,
        outcomes=CONSULT_OUTCOMES,
        planner=ep.plan_surgical_consult,
    ),
    Rule(
        code="malignancy_workup",
        title="Malignancy work-up: MRI whole spine with contrast",
        guidance="If malignancy is suspected, obtain MRI of the complete spine without and "
        "with IV contrast, and consider image-guided biopsy if the imaging is ambiguous "
        "(002:27).",
        seed_refs=("002:27", "000:79", "001:82"),
        group="branch",
        phases=OPEN_PHASES,
        anchor="identified (not before the suspicion)",
        offset_days=7,
        trigger="malignancy suspected",
        priority="high",
        expires_at_12_months=True,
        raises_after_expiry=True,
        completes_by="a whole-spine MRI with contrast after the suspicion",
        planner=ep.plan_malignancy_workup,
    ),
    Rule(
        code="oncology_mdt",
        title="Oncology referral for pathologic fracture",
        guidance="Asymptomatic pathologic fracture: radiation oncology consultation or "
        "medical management (002:82). Severe and worsening pain: a multidisciplinary "
        "approach with interventional radiology, surgery and radiation oncology (002:86); "
        "percutaneous thermal ablation or vertebral augmentation (002:87). Deformity or "
        "pulmonary dysfunction: multidisciplinary approach with vertebral augmentation "
        "(002:91). Neurologic effects: surgical and radiation oncology consultation "
        "(002:95).",
        seed_refs=("002:82", "002:86", "002:87", "002:91", "002:95"),
        group="branch",
        phases=OPEN_PHASES,
        anchor="identified (not before the confirmation)",
        offset_days=7,
        trigger="pathologic fracture confirmed",
        priority="high",
        expires_at_12_months=True,
        raises_after_expiry=True,
        planner=ep.plan_oncology_mdt,
    ),
    Rule(
        code="calcitonin_start",
        title="Start calcitonin for acute pain (4 weeks)",
        guidance="The seeds disagree on the window. Within 0-5 days of onset: calcitonin "
        "200 IU nasal spray or suppository daily for 4 weeks in neurologically intact "
        "patients (004:20, 004:26); alternative 100 IU SC/IM every other day (004:28); "
        "side effects mild, mainly dizziness (004:29). Others give it in the first 4 weeks "
        "after the fracture is identified (000:28, 001:36, 003:24).",
        seed_refs=("004:20", "004:26", "004:28", "004:29", "000:28", "001:36", "003:24"),
        group="acute",
        phases=EARLY,
        anchor="onset (presented within 0-5 days) or identified (later)",
        offset_days=5,
        window="28 days after identification",
        window_days=28,
        trigger="identified within 28 days of onset; neurologically intact, not pathologic",
        priority="high",
        expires_at_12_months=True,
        completes_by="a calcitonin start within the window",
        planner=ep.plan_calcitonin_start,
    ),
    Rule(
        code="calcitonin_stop",
        title="Stop calcitonin after 4 weeks; review pain",
        guidance="Calcitonin is given daily for 4 weeks (004:26); stop it then and review "
        "the pain.",
        seed_refs=("004:26", "002:35"),
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
        guidance="Do not delay osteoporosis pharmacotherapy: 20 % risk of another vertebral "
        "fracture within 12 months (000:38). Bisphosphonates such as alendronate or "
        "risedronate are first line (004:33, 003:41); ibandronate and strontium ranelate "
        "are specifically recommended with an existing compression fracture (000:39, "
        "003:40); denosumab 60 mg SC every 6 months is an option from the start (003:20, "
        "003:42) and for refractory bone pain despite a bisphosphonate (004:60); "
        "zoledronic acid for oral intolerance, dementia, malabsorption or non-compliance "
        "(004:59); teriparatide for those who failed or are intolerant of other therapy "
        "(003:43).",
        seed_refs=(
            "000:38",
            "004:33",
            "003:41",
            "000:39",
            "003:40",
            "003:20",
            "003:42",
            "004:60",
            "004:59",
            "003:43",
        ),  # fmt: skip
        group="acute",
        phases=OPEN_PHASES,
        anchor="identified",
        trigger="no anti-osteoporosis drug on treatment when the fracture is identified",
        priority="high",
        expires_at_12_months=True,
        completes_by="an anti-osteoporosis drug start",
        planner=ep.plan_osteoporosis_rx_start,
    ),
    Rule(
        code="mobilisation",
        title="Mobilise: avoid prolonged bed rest",
        guidance="Avoid prolonged bed rest (000:32, 001:28): about 1 % bone loss a week "
        "(003:32). Permit slow, regular walking starting with 10-minute periods, gradually "
        "increasing (002:41). Bracing: the seeds disagree: bracing for comfort as needed "
        "(001:29) against insufficient or inconclusive evidence for it (003:33, 004:48). "
        "Analgesia: NSAIDs first line (000:26); acetaminophen for mild pain (001:35, "
        "003:27).",
        seed_refs=(
            "000:32",
            "001:28",
            "003:32",
            "002:41",
            "001:29",
            "003:33",
            "004:48",
            "000:26",
            "001:35",
            "003:27",
        ),  # fmt: skip
        group="acute",
        phases=EARLY,
        anchor="identified",
        trigger="every fracture episode, neurologically intact and not pathologic",
        expires_at_12_months=True,
        planner=ep.plan_always_day0,
    ),
    Rule(
        code="opioid_review",
        title="Review opioid use",
        guidance="Exercise caution with opioids: sedation, nausea, decreased physical "
        "conditioning and increased fall risk, particularly in elderly osteoporotic "
        "patients (000:27); NSAIDs are first line (000:26).",
        seed_refs=("000:27", "000:26", "002:34"),
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
        guidance="Review pain and function. Persistent severe pain after 3 weeks to 3 "
        "months of conservative management is an indication to consider vertebral "
        "augmentation (002:53).",
        seed_refs=("002:53",),
        group="acute",
        phases=EARLY,
        anchor="identified",
        offset_days=21,
        window="until the 3-month review falls due",
        trigger="every fracture episode, neurologically intact and not pathologic",
        expires_at_12_months=True,
        completes_by="a pain score at or after day 21",
        planner=ep.plan_pain_review_3w,
    ),
    Rule(
        code="nerve_root_block_consider",
        title="Consider an L2 nerve root block",
        guidance="The seeds differ on when: an option for L3 or L4 fractures with acute "
        "injury and correlating symptoms (003:65), or for persistent pain at L3 or L4 "
        "beyond 4 weeks (004:47).",
        seed_refs=("003:65", "004:47"),
        group="conservative",
        phases=EARLY,
        anchor="the pain review",
        trigger="fracture at L3 or L4 and pain of 7/10 or more at or after day 28",
        expires_at_12_months=True,
        outcomes=("block_planned", "not_indicated"),
        planner=plan_nerve_root_block,
    ),
    Rule(
        code="augmentation_review_3m",
        title="3-month review: vertebral augmentation?",
        guidance="3-month review. Offer vertebral augmentation if pain persists after 3 months "
        "of conservative therapy (000:63): pain refractory to oral medication, "
        "contraindication to pain medication, or parenteral narcotics or hospital "
        "admission needed (003:52-54). Refer to a surgeon for persistent intractable pain "
        "despite conservative management (004:76)." + AUGMENTATION_POSITIONS,
        seed_refs=(
            "000:63",
            "003:52",
            "003:53",
            "003:54",
            "004:76",
            "004:64",
            "004:66",
            "004:68",
            "004:103",
            "000:58",
            "000:59",
        ),  # fmt: skip
        group="conservative",
        phases=EARLY,
        anchor="identified",
        offset_months=3,
        trigger="still in conservative management",
        expires_at_12_months=True,
        outcomes=AUGMENTATION_OUTCOMES,
        planner=ep.plan_augmentation_review_3m,
    ),
    Rule(
        code="augmentation_consider_early",
        title="Consider vertebral augmentation before 3 months",
        guidance="Indications for earlier intervention: spinal deformity (15 % or more "
        "kyphosis, 10 % or more scoliosis, 10 % or more dorsal wall height reduction, or "
        "20 % or more vertebral body height loss), worsening symptoms despite medication, "
        "pulmonary dysfunction (001:44-46); contraindication to pain medication, "
        "parenteral narcotics or hospital admission (000:49-50); persistent severe pain "
        "from 3 weeks (002:53) — two pain scores of 7 or more from day 21, the project's "
        "convention for severe. Do not delay intervention for progressive deformity "
        "(001:83)." + AUGMENTATION_POSITIONS,
        seed_refs=(
            "001:44",
            "001:45",
            "001:46",
            "000:49",
            "000:50",
            "002:53",
            "001:83",
            "004:64",
            "000:58",
        ),  # fmt: skip
        group="conservative",
        phases=EARLY,
        anchor="trigger",
        trigger="an early-augmentation indication before 3 months (a new one after the "
        "previous decision raises it again)",
        priority="high",
        expires_at_12_months=True,
        outcomes=AUGMENTATION_OUTCOMES,
        planner=ep.plan_augmentation_consider_early,
    ),
    Rule(
        code="augmentation_reconsider",
        title="Reconsider vertebral augmentation",
        guidance="Conservative care was continued at the 3-month review, and pain is severe "
        "or symptoms are worsening. The age of the fracture does not change the outcome "
        "of augmentation (001:58, 002:61); do not deny augmentation to appropriate "
        "candidates after conservative therapy fails (002:103)." + AUGMENTATION_POSITIONS,
        seed_refs=("001:58", "002:61", "002:103", "004:64", "000:58"),
        group="conservative",
        phases=OPEN_PHASES,
        anchor="trigger",
        trigger="after the 3-month review continued conservative care: a pain score of 7 or "
        "more, or worsening symptoms",
        priority="high",
        expires_at_12_months=True,
        raises_after_expiry=True,
        outcomes=AUGMENTATION_OUTCOMES,
        planner=ep.plan_augmentation_reconsider,
    ),
    Rule(
        code="repeat_mri",
        title="Repeat MRI: new fracture?",
        guidance="Do not assume all pain is from the known fracture: obtain an MRI if "
        "symptoms change or imaging is more than 3 months old (000:78, 003:78). Edema "
        "resolves within 1-3 months, so it is not a precise measure of fracture age "
        "(003:79).",
        seed_refs=("000:78", "003:78", "003:79"),
        group="conservative",
        phases=OPEN_PHASES,
        anchor="the record",
        offset_days=7,
        trigger="changed symptoms recorded after the latest spine MRI; an augmentation "
        "referral with the latest spine MRI more than 3 months old",
        # Old records (V2.4): a change of symptoms years ago is history; one
        # recorded now is today's work, whatever the fracture's age.
        expires_at_12_months=True,
        raises_after_expiry=True,
        completes_by="a spine MRI after the trigger",
        planner=ep.plan_repeat_mri,
    ),
)

PROGRAMME_RULES = (
    Rule(
        code="calcium_vitamin_d",
        title="Calcium and vitamin D",
        guidance="Calcium 1000-1200 mg/day and vitamin D 800 IU/day, avoiding high pulse "
        "doses of vitamin D, which increase fall risk (002:47); these are essential "
        "adjuncts, not optional (004:104).",
        seed_refs=("002:47", "004:40", "004:41", "004:104", "003:44"),
        group="programme",
        phases=OPEN_PHASES,
        anchor="first fracture identified",
        trigger="every patient's programme",
        patient_level=True,
        completes_by="calcium and vitamin D recorded",
        planner=pr.plan_calcium_vitamin_d,
    ),
    Rule(
        code="falls_prevention",
        title="Falls risk assessment and prevention",
        guidance="Fall prevention education and measures are part of long-term management "
        "(001:75).",
        seed_refs=("001:75",),
        group="programme",
        phases=OPEN_PHASES,
        anchor="first fracture identified",
        trigger="every patient's programme",
        patient_level=True,
        planner=pr.plan_falls_prevention,
    ),
    Rule(
        code="bmd_dxa",
        title="Yearly bone density (DXA)",
        guidance="Monitor bone mineral density yearly while on treatment (004:53).",
        seed_refs=("004:53",),
        group="programme",
        phases=OPEN_PHASES,
        anchor="last DXA (first: treatment start)",
        offset_months=12,
        recurs_months=12,
        trigger="on anti-osteoporosis treatment",
        patient_level=True,
        completes_by="a DXA",
        planner=pr.plan_bmd_dxa,
    ),
    Rule(
        code="calcitonin_switch",
        title="Switch calcitonin to a bisphosphonate",
        guidance="If bone mineral density falls more than 4 % per year over two successive "
        "years on calcitonin, switch to a bisphosphonate (004:91).",
        seed_refs=("004:91",),
        group="programme",
        phases=OPEN_PHASES,
        anchor="the second DXA",
        trigger="calcitonin is the only anti-osteoporosis therapy and BMD fell more than 4 % "
        "a year over two successive yearly intervals (DXAs 10-14 months apart)",
        priority="high",
        patient_level=True,
        planner=pr.plan_calcitonin_switch,
    ),
    Rule(
        code="calcitonin_restart",
        title="Consider restarting calcitonin",
        guidance="After stopping calcitonin, restart it if yearly bone mineral density falls "
        "more than 4 % (004:92).",
        seed_refs=("004:92",),
        group="programme",
        phases=OPEN_PHASES,
        anchor="the DXA",
        trigger="calcitonin used beyond the 4-week course was stopped, no other "
        "anti-osteoporosis drug is on treatment, and the latest yearly interval fell "
        "more than 4 %",
        priority="high",
        patient_level=True,
        planner=pr.plan_calcitonin_restart,
    ),
    Rule(
        code="bisphosphonate_duration_review",
        title="Review bisphosphonate duration",
        guidance="Bisphosphonates are prescribed for 3-5 years initially, longer in patients "
        "who remain at high risk (004:85); monitor for osteonecrosis of the jaw and "
        "atypical femoral fractures, whose risk increases with duration (004:86).",
        seed_refs=("004:85", "004:86"),
        group="programme",
        phases=OPEN_PHASES,
        anchor="3 and 5 years of cumulative bisphosphonate treatment (a gap pauses the count)",
        trigger="bisphosphonate treatment",
        patient_level=True,
        planner=pr.plan_bisphosphonate_duration,
    ),
    Rule(
        code="renal_function",
        title="Check renal function (bisphosphonate)",
        guidance="Monitor renal function with chronic bisphosphonate use (004:87).",
        seed_refs=("004:87",),
        group="programme",
        phases=OPEN_PHASES,
        anchor="bisphosphonate course start",
        offset_months=12,
        recurs_months=12,
        trigger="bisphosphonate on treatment",
        patient_level=True,
        planner=pr.plan_renal_function,
    ),
    Rule(
        code="denosumab_dose",
        title="Next denosumab 60 mg SC dose",
        guidance="Denosumab 60 mg subcutaneously every 6 months (003:42). A dose more than "
        "28 days late means treatment has lapsed; the task then turns high priority "
        "(project convention, pathway-spec V2.2).",
        seed_refs=("003:42",),
        group="programme",
        phases=OPEN_PHASES,
        anchor="last dose",
        offset_months=6,
        recurs_months=6,
        trigger="denosumab on treatment",
        grace_days=28,
        patient_level=True,
        completes_by="a denosumab dose",
        planner=pr.plan_denosumab_dose,
    ),
    Rule(
        code="new_fracture_screen",
        title="Yearly screen for a new vertebral fracture",
        guidance="Regular follow-up to monitor for new fractures (001:76): 20 % risk of "
        "another vertebral fracture within 12 months of the first (000:38). Obtain an MRI "
        "if symptoms change (000:78).",
        seed_refs=("001:76", "000:38", "000:78"),
        group="programme",
        phases=OPEN_PHASES,
        anchor="first fracture identified",
        offset_months=12,
        recurs_months=12,
        trigger="every patient's programme",
        patient_level=True,
        planner=pr.plan_new_fracture_screen,
    ),
    Rule(
        code="treatment_failure_review",
        title="Fracture on treatment: review the therapy",
        guidance="A fracture while on anti-osteoporosis treatment: review adherence (project "
        "convention, pathway-spec V2.1). "
        "Teriparatide is approved for those who have failed or are intolerant of other "
        "therapy (003:43); denosumab for refractory bone pain despite a bisphosphonate "
        "(004:60); consider anabolic agents (teriparatide or romosozumab) at very high "
        "fracture risk (004:98).",
        seed_refs=("003:43", "004:60", "004:98"),
        group="programme",
        phases=OPEN_PHASES,
        anchor="the new fracture's identification",
        trigger="a fracture identified while an anti-osteoporosis drug is on treatment",
        priority="high",
        patient_level=True,
        planner=pr.plan_treatment_failure_review,
    ),
    Rule(
        code="medication_reconciliation",
        title="Reconcile imported prescriptions",
        guidance="Failure to treat the underlying osteoporosis can result in future "
        "fractures (001:81), and pharmacotherapy must not be delayed (000:83): confirm which "
        "imported prescriptions the patient still takes. Prescriptions that started more "
        "than 12 months before the import, with no later evidence of use, count as on "
        "treatment until a person marks each verified or stopped (project convention, "
        "pathway-spec V2.4).",
        seed_refs=("001:81", "000:83"),
        group="programme",
        phases=OPEN_PHASES,
        anchor="the import",
        trigger="an imported prescription is not verified",
        patient_level=True,
        completes_by="every imported prescription verified",
        planner=pr.plan_medication_reconciliation,
    ),
)

# "In surgical or pathologic_workup every conservative episode rule is
# suppressed, including mobilisation and pain_review_3w" (V2.3; 000:86).
SUPPRESSED_IN_BRANCH = frozenset(
    {
        "calcitonin_start",
        "calcitonin_stop",
        "mobilisation",
        "pain_review_3w",
        "nerve_root_block_consider",
        "augmentation_review_3m",
        "augmentation_consider_early",
        "augmentation_reconsider",
    }
)

V2 = RuleSet(
    version="v2",
    rules=EPISODE_RULES + PROGRAMME_RULES,
    branch=phases.branch,
    phase=phases.phase,
    flags=phases.flags,
    suppressed_in_branch=SUPPRESSED_IN_BRANCH,
    has_programme=True,
)
