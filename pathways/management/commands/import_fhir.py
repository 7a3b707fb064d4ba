"""Import FHIR R4 bundles (e.g. Synthea patient bundles) into a clinic."""

from __future__ import annotations

from argparse import RawDescriptionHelpFormatter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from pathways.interop.fhir.importer import import_paths
from patients.models import Clinic

HELP = """\
Import FHIR R4 Bundles (files, or directories of *.json) into a clinic.

Patients with an osteoporosis-related record become vcftrack patients (MRN from
the MR identifier, else Synthea's id); anti-osteoporosis drugs and calcitonin
(MedicationRequest/MedicationStatement) become medications; DXA observations
with a BMD in g/cm2 become bone-density scans (a T-score alone is skipped and
reported); pain scores (LOINC 72514-3) within a year of an imported fracture
become pain observations.

Vertebral levels: an episode is created only for a vertebral fracture whose
Condition.bodySite names the level(s) (SNOMED vertebra codes or text like
"L1"). A vertebral fracture without a level is NOT imported with a guessed
level - the pathway depends on it - but listed in the report, to be entered by
hand from the imaging report. Synthea records no level, and its osteoporotic
fractures are of the hip, forearm, wrist, ankle, clavicle or rib: they are
reported as non-vertebral and create no episode.

Re-importing a file changes nothing: each row's id is derived from the clinic
and the FHIR resource it came from (a patient's from its MRN), and rows that
exist - even deleted ones - are left alone.
Each file is imported in one transaction; a bad file is named and leaves
nothing behind. Dates after the import date are skipped and reported.
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="bundle files or directories of *.json")
        parser.add_argument(
            "--clinic",
            help="code of the clinic to import into (required when there is more than one)",
        )
        parser.add_argument(
            "--all-patients",
            action="store_true",
            help="import every patient, not only those with an osteoporosis-related record",
        )
        parser.add_argument(
            "--quiet-skips", action="store_true", help="print the number of skips, not each one"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["clinic"]
        if code:
            clinic = Clinic.objects.filter(code=code).first()
            if clinic is None:
                known = ", ".join(Clinic.objects.values_list("code", flat=True)) or "none"
                raise CommandError(f"no clinic with code {code!r} (known: {known})")
        else:
            clinics = list(Clinic.objects.all()[:2])
            if len(clinics) != 1:
                raise CommandError("--clinic CODE is required (there is not exactly one clinic)")
            clinic = clinics[0]
        now = timezone.now()
        report = import_paths(
            options["paths"], clinic=clinic, now=now, all_patients=options["all_patients"]
        )
        self.stdout.write(f"FHIR import into {clinic.code} as of {clinic.today(now)}:")
        for line in report.summary_lines():
            self.stdout.write(f"  {line}")
        if report.skipped and not options["quiet_skips"]:
            self.stdout.write("Skipped:")
            for line in report.skipped:
                self.stdout.write(f"  - {line}")
        if report.errors:
            for line in report.errors:
                self.stderr.write(f"error: {line}")
            raise CommandError(f"{len(report.errors)} file(s) could not be imported")
