"""The rule catalogue: every rule of every pathway version (read only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pathways import catalogue
from pathways.models import TaskPriority
from vcftrack.core.api.errors import invalid
from vcftrack.core.api.inputs import check_query


class SeedLineSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField(help_text="Line number in the guideline (from 1).")
    text = serializers.CharField()


class CitationSerializer(serializers.Serializer[Any]):
    ref = serializers.CharField(help_text="As the rule cites it: `004`, `004:85`, `004:64-68`.")
    seed = serializers.CharField(help_text="The guideline's number (`docs/seeds/<seed>_*.txt`).")
    guideline = serializers.CharField(help_text="The guideline's name (its first line).")
    lines = SeedLineSerializer(many=True, help_text="The cited lines (empty: the whole guideline).")
    line_label = serializers.CharField(help_text="The lines as cited: `lines 64–68` (or empty).")
    problem = serializers.CharField(help_text="Why the reference does not resolve (or empty).")


class RuleSerializer(serializers.Serializer[Any]):
    """One rule of one pathway version: its declared numbers, and the same in words."""

    id = serializers.CharField(
        source="anchor", help_text="`<version>-<code>`; also its id on the web catalogue page."
    )
    version = serializers.CharField()
    code = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="Its entry in the web catalogue.")
    newest = serializers.BooleanField(
        help_text="This is the newest version that has the rule (the web page's `#<code>`)."
    )
    title = serializers.CharField()
    scope = serializers.ChoiceField(
        choices=["episode", "programme"],
        help_text="Where its tasks live: each fracture's episode, or the patient's programme.",
    )
    patient_level = serializers.BooleanField(
        help_text="One series per patient (v1: kept on the patient's newest open episode)."
    )
    scope_text = serializers.CharField()
    group = serializers.CharField()
    group_text = serializers.CharField()
    phases = serializers.ListField(child=serializers.CharField())
    phases_text = serializers.CharField()
    trigger = serializers.CharField(help_text="When the rule raises a task.")
    anchor_from = serializers.CharField(help_text="What the due date is counted from.")
    offset_days = serializers.IntegerField()
    offset_months = serializers.IntegerField()
    due_text = serializers.CharField()
    recurs_months = serializers.IntegerField(help_text="0: not on a schedule.")
    recurrence_text = serializers.CharField()
    window = serializers.CharField(help_text="Until when an open task can be done (or empty).")
    window_text = serializers.CharField()
    priority = serializers.ChoiceField(choices=TaskPriority.choices)
    priority_text = serializers.CharField()
    grace_days = serializers.IntegerField(help_text="Days after the due date until overdue.")
    grace_text = serializers.CharField()
    lead_days = serializers.IntegerField(help_text="Days before the due date it is raised.")
    lead_text = serializers.CharField()
    expires_at_12_months = serializers.BooleanField()
    completes_by = serializers.CharField(help_text="The fact that closes it by itself (or empty).")
    completion_text = serializers.CharField()
    outcomes = serializers.ListField(child=serializers.CharField())
    outcome_texts = serializers.ListField(child=serializers.CharField())
    guidance = serializers.CharField()
    seed_refs = serializers.ListField(child=serializers.CharField())
    citations = CitationSerializer(many=True)

    def get_url(self, entry: catalogue.RuleEntry) -> str:
        request = self.context["request"]
        return request.build_absolute_uri(catalogue.rule_url(entry.version, entry.code))


class RuleListSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="Always null: one page.")
    previous = serializers.URLField(allow_null=True, help_text="Always null: one page.")
    next_cursor = serializers.CharField(allow_null=True, help_text="Always null (no sync feed).")
    results = RuleSerializer(many=True)


class RuleCatalogueView(APIView):
    """The rule catalogue: every rule of every pathway version, newest version first.

    Generated from the rule definitions (the same build as the web page
    `/rules/`); the same for every caller, whatever their clinics.
    """

    audit_exempt = True  # rules, no patient

    renderer_classes = [JSONRenderer]

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        check_query(request)

    @extend_schema(
        operation_id="rules_list",
        parameters=[
            OpenApiParameter(
                "version",
                str,
                enum=catalogue.versions(),
                description="Only this pathway version's rules.",
            )
        ],
        responses=RuleListSerializer,
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("version", "") or None
        try:
            versions = catalogue.build_catalogue(wanted)
        except KeyError:
            known = ", ".join(catalogue.versions())
            raise invalid(
                {"version": [f"{str(wanted)[:20]!r} is not a pathway version (one of {known})."]}
            ) from None
        rules = [entry for version in versions for entry in version.rules]
        return Response(
            {
                "count": len(rules),
                "next": None,
                "previous": None,
                "next_cursor": None,
                "results": RuleSerializer(rules, many=True, context={"request": request}).data,
            }
        )
