"""Code systems and codes shared by the FHIR export and the importer.

Only codes checked against a published source are used (see docs/fhir.md):
LOINC from the LOINC table, SNOMED CT body structures from DICOM CID 7603,
SNOMED CT disorders from the Synthea modules that emit them. Everything
vcftrack-specific (observation kinds, rule codes, phases) travels in a local
code system under ``system_uri()``, always with readable text.
"""

from __future__ import annotations

from django.conf import settings

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def system_uri(*parts: str) -> str:
    """A vcftrack code/identifier system.

    The base is ``settings.FHIR_SYSTEM_BASE`` when a deployment sets one (an
    https URL it controls); the default is a URN, which needs no domain.
    """
    base: str = getattr(settings, "FHIR_SYSTEM_BASE", "urn:vcftrack")
    sep = ":" if base.startswith("urn:") else "/"
    return sep.join([base.rstrip("/:"), *parts])


# ------------------------------------------------------------- conditions --
# SNOMED CT 42942008 |Compression fracture of vertebral column (disorder)|
VCF_SNOMED = ("42942008", "Compression fracture of vertebral column")
# SNOMED CT 443165006 |Pathological fracture due to osteoporosis (disorder)|
# (emitted by Synthea together with a second condition naming the bone).
OSTEOPOROTIC_FRACTURE_SNOMED = ("443165006", "Pathological fracture due to osteoporosis")
# ICD-10-CM M80.08XA: age-related osteoporosis with current pathological
# fracture, vertebra(e), initial encounter for fracture.
VCF_OSTEOPOROTIC_ICD10 = (
    "M80.08XA",
    "Age-related osteoporosis with current pathological fracture, vertebra(e), "
    "initial encounter for fracture",
)
OSTEOPOROSIS_SNOMED = "64859006"

# Fracture codes that name the spine. 15724005 / 1734006 are the vertebral
# fractures of Synthea's injuries module (without / with spinal cord injury).
VERTEBRAL_FRACTURE_SNOMED: dict[str, str] = {
    "42942008": "Compression fracture of vertebral column",
    "15724005": "Fracture of vertebral column without spinal cord injury",
    "1734006": "Fracture of vertebral column with spinal cord injury",
}
# Cord injury: the episode starts with a neurological deficit.
VERTEBRAL_FRACTURE_WITH_CORD_INJURY = frozenset({"1734006"})
# Fracture codes of other bones that Synthea records next to 443165006 in the
# same encounter: the osteoporotic fracture is then not vertebral.
NON_VERTEBRAL_FRACTURE_SNOMED: dict[str, str] = {
    "359817006": "hip",
    "65966004": "forearm",
    "263102004": "wrist",
    "16114001": "ankle",
    "58150001": "clavicle",
    "33737001": "rib",
}

# SNOMED CT body structures of the vertebrae (DICOM CID 7603 "Vertebra").
VERTEBRA_SNOMED: dict[str, str] = {
    "T1": "64864005",
    "T2": "53733008",
    "T3": "1626008",
    "T4": "73071006",
    "T5": "56401006",
    "T6": "45296009",
    "T7": "62487009",
    "T8": "11068009",
    "T9": "82687006",
    "T10": "7610001",
    "T11": "12989004",
    "T12": "23215003",
    "L1": "66794005",
    "L2": "14293000",
    "L3": "36470004",
    "L4": "11994002",
    "L5": "49668003",
}
LEVEL_BY_VERTEBRA_SNOMED = {code: level for level, code in VERTEBRA_SNOMED.items()}

# ----------------------------------------------------------- observations --
PAIN_NRS_LOINC = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")

# DXA by site: (BMD [Mass/Area] code, display), (T-score code, display).
DXA_LOINC: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "lumbar_spine": (
        ("24966-4", "DXA Lumbar spine [Mass/Area] Bone density"),
        ("38267-1", "DXA Lumbar spine [T-score] Bone density"),
    ),
    "total_hip": (
        ("38261-4", "DXA Hip [Mass/Area] Bone density"),
        ("38264-8", "DXA Hip [T-score] Bone density"),
    ),
    "femoral_neck": (
        ("24701-5", "DXA Femur [Mass/Area] Bone density"),
        ("38263-0", "DXA Femur [T-score] Bone density"),
    ),
}
# Import: BMD codes -> site. Hip left/right count as total hip; femur codes
# are read as femoral neck only when the text says "neck" (see importer).
DXA_BMD_SITE: dict[str, str] = {
    "24966-4": "lumbar_spine",
    "38261-4": "total_hip",
    "46278-8": "total_hip",
    "46279-6": "total_hip",
    "24701-5": "femur",
    "80953-3": "femur",
    "80954-1": "femur",
}
DXA_TSCORE_SITE: dict[str, str] = {
    "38267-1": "lumbar_spine",
    "38264-8": "total_hip",
    "80945-9": "total_hip",
    "80946-7": "total_hip",
    "38263-0": "femur",
    "80947-5": "femur",
    "80948-3": "femur",
    # LOINC: "DXA Radius and Ulna [T-score]"; Synthea labels it "DXA [T-score]
    # Bone density" without a site. Not a vcftrack site either way.
    "38265-5": "forearm_or_unspecified",
}
DXA_SITE_TEXT = {
    "lumbar_spine": "Lumbar spine",
    "total_hip": "Total hip",
    "femoral_neck": "Femoral neck",
}

# ---------------------------------------------------------------- imaging --
DICOM_MODALITY = {
    "mri": ("MR", "Magnetic Resonance"),
    "ct": ("CT", "Computed Tomography"),
    "xray": ("DX", "Digital Radiography"),
}

# ------------------------------------------------------------ medications --
# Import: drug names recognised in a medication's coding display or text
# (RxNorm clinical drugs name their ingredient), checked in this order.
DRUG_NAME_PATTERNS: tuple[tuple[str, str], ...] = (
    ("alendron", "alendronate"),
    ("risedron", "risedronate"),
    ("ibandron", "ibandronate"),
    ("zoledron", "zoledronic_acid"),
    ("denosumab", "denosumab"),
    ("teriparatide", "teriparatide"),
    ("romosozumab", "romosozumab"),
    ("strontium ranelate", "strontium_ranelate"),
    ("calcitonin", "calcitonin"),
)
# RxNorm codes seen in the data we import, as a check that does not depend on
# the display text (904419: Alendronic acid 10 MG Oral Tablet).
RXNORM_DRUG = {"904419": "alendronate"}
