"""The in-app inbox and the notification preferences (server-rendered, htmx)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_POST

from notifications import selectors
from notifications.models import MUTABLE_KINDS, Notification, NotificationKind, Preference
from notifications.services import (
    notification_mark_all_read,
    notification_mark_read,
    preference_update,
)
from vcftrack.core import audit
from vcftrack.core.web import get_scope, is_htmx


def unread_count(request: HttpRequest) -> dict[str, Any]:
    """Template context: the header's unread count, counted only if a template shows it."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "inbox_unread": SimpleLazyObject(
            lambda: selectors.unread_count(
                user=request.user, clinic_ids=[c.id for c in get_scope(request).all_clinics]
            )
        )
    }


def _user_id(request: HttpRequest) -> int:
    return int(request.user.pk or 0)  # behind login_required: always set


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    scope = get_scope(request)
    groups = selectors.inbox(user=request.user, clinic_ids=[c.id for c in scope.all_clinics])
    audit.note(request, patient_ids=[g.patient.id for g in groups], action="inbox.list")
    return render(
        request,
        "notifications/inbox.html",
        {"groups": groups, "today": timezone.localdate(), "kinds": NotificationKind},
    )


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification_mark_read(user=request.user, notification_id=notification_id, now=timezone.now())
    if is_htmx(request):
        note = (
            Notification.objects.filter(user_id=_user_id(request), pk=notification_id)
            .select_related("task", "patient")
            .first()
        )
        if note is None:
            return HttpResponse(status=404)
        audit.note(request, patient_ids=[note.patient_id], action="inbox.view")
        return render(request, "notifications/_item.html", {"n": note, "oob_count": True})
    # Without htmx nothing of the patient is shown: a redirect to the inbox.
    audit.note(request, action="inbox.update")
    return HttpResponseRedirect(reverse("inbox"))


@audit.exempt
@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = notification_mark_all_read(user=request.user, now=timezone.now())
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
    return HttpResponseRedirect(reverse("inbox"))


class PreferenceForm(forms.Form):
    in_app = forms.BooleanField(label="Show notifications in the app", required=False)
    email = forms.BooleanField(label="Also send each notification by e-mail", required=False)
    muted_kinds = forms.MultipleChoiceField(
        label="Mute",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(k.value, k.label) for k in MUTABLE_KINDS],
        help_text="Urgent tasks are always shown, even when muted.",
    )
    digest = forms.BooleanField(label="Send me a daily e-mail digest", required=False)
    digest_hour = forms.TypedChoiceField(
        label="Digest hour (your clinic's time)",
        coerce=int,
        choices=[(h, f"{h:02d}:00") for h in range(24)],
    )


@audit.exempt
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    pref = Preference.objects.filter(user_id=_user_id(request)).first() or Preference()
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            try:
                preference_update(user=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, error)
            else:
                messages.success(request, "Your notification settings are saved.")
                return HttpResponseRedirect(reverse("notification_preferences"))
    else:
        form = PreferenceForm(
            initial={
                "in_app": pref.in_app,
                "email": pref.email,
                "muted_kinds": pref.muted_kinds,
                "digest": pref.digest,
                "digest_hour": pref.digest_hour,
            }
        )
    return render(request, "notifications/preferences.html", {"form": form})
