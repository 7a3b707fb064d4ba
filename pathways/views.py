"""Web views of the pathways app: the rule catalogue (the worklist lives in
``pathways.worklist``, the dashboard in ``pathways.dashboard``).

Views are thin: read the clock once, parse, call one selector, render.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from pathways import catalogue
from vcftrack.core import audit


@audit.exempt
@login_required
@require_GET
def rule_catalogue(request: HttpRequest) -> HttpResponse:
    """Every rule of every pathway version, generated from the rule sets."""
    return render(request, "pathways/rules.html", {"versions": catalogue.build_catalogue()})
