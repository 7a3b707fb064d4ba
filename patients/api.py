"""REST resources of the patients app: clinics, patients, medications, bone density."""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from patients.models import (
    BoneDensity,
    Clinic,
    Drug,
    DxaSite,
    Medication,
    Membership,
    Patient,
    Route,
    Sex,
)
from patients.services import (
    PATIENT_FIELDS,
    PATIENT_REQUIRED,
    bone_density_delete,
    bone_density_record,
    medication_delete,
    medication_record,
    medication_update,
    medication_verify,
    patient_create,
    patient_delete,
    patient_fact_void,
    patient_update,
)
from vcftrack.core.api.errors import ApiError, not_found
from vcftrack.core.api.inputs import Errors, parse_uuid
from vcftrack.core.api.pagination import Page, check_listing_params, check_sync_since
from vcftrack.core.api.serializers import StrictModelSerializer, list_of
from vcftrack.core.api.views import ApiViewSet, HistoryMixin
from vcftrack.core.scoping import Role, clinic_ids_for, roles_for

MEDICATION_FIELDS = ("drug", "start_date", "stop_date", "dose", "route")
DXA_FIELDS = ("performed_date", "site", "bmd_g_cm2", "t_score")


# ---------------------------------------------------------------- clinics --
class MemberSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="user_id", help_text="User id (for task assignee).")
    username = serializers.CharField(source="user.username")
    name = serializers.SerializerMethodField()
    role = serializers.ChoiceField(choices=Role.choices)

    def get_name(self, obj: Membership) -> str:
        return obj.user.get_full_name() or obj.user.get_username()


class ClinicSerializer(StrictModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in this clinic.")
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Clinic
        fields = ["id", "code", "name", "timezone", "role", "members", "version", "updated_at"]

    def get_role(self, obj: Clinic) -> str | None:
        return roles_for(self.context["request"].user).get(obj.id)


class ClinicViewSet(ApiViewSet):
    """The clinics you belong to, with your role and their members (read only)."""

    audit_exempt = True  # clinics and colleagues, no patient
    serializer_class = ClinicSerializer
    filter_backends: list[Any] = []

    def scoped(self) -> QuerySet[Any]:
        return Clinic.objects.filter(id__in=clinic_ids_for(self.request.user)).prefetch_related(
            "memberships__user"
        )

    def get_queryset(self) -> QuerySet[Any]:
        return self.scoped()

    @extend_schema(responses=ClinicSerializer(many=True))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A handful of rows, always whole: the listing parameters are checked
        # (an empty updated_since is refused as everywhere) but change nothing.
        check_sync_since(request)
        check_listing_params(request)
        rows = list(self.get_queryset())
        page = Page(rows=rows, count=len(rows), next=None, previous=None, next_cursor=None)
        return Response(page.envelope(list(self.get_serializer(rows, many=True).data)))

    def get_object(self) -> Any:
        obj = self.get_queryset().filter(pk=self.kwargs.get("pk")).first()
        if obj is None:
            raise not_found()
        return obj


# --------------------------------------------------------------- patients --
class PatientSerializer(StrictModelSerializer):
    class Meta:
        model = Patient
        fields = [
            "id",
            "clinic",
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "deceased_date",
            "phone",
            "phone_alt",
            "contact_time",
            "version",
            "created_at",
            "updated_at",
        ]


DECEASED_HELP = (
    "Date of death; null if the patient is not known to have died. Not in the future, "
    "not before birth_date. A deceased patient's pathway raises no further task."
)


class PatientUpdateSerializer(serializers.Serializer[Any]):
    mrn = serializers.CharField(max_length=64, help_text="Unique per clinic.")
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    birth_date = serializers.DateField(help_text="Not in the future.")
    sex = serializers.ChoiceField(choices=Sex.choices)
    deceased_date = serializers.DateField(required=False, allow_null=True, help_text=DECEASED_HELP)
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="As written: +49 30 1234-567."
    )
    phone_alt = serializers.CharField(max_length=32, required=False, allow_blank=True)
    contact_time = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="E.g. weekday mornings."
    )


class PatientCreateSerializer(PatientUpdateSerializer):
    clinic = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Required if you can write in more than one clinic (absent or null: "
        "the one clinic you can write in).",
    )
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, default="unknown")


class PatientFilter(django_filters.FilterSet):
    clinic = django_filters.UUIDFilter(field_name="clinic_id")
    mrn = django_filters.CharFilter(field_name="mrn")
    family_name = django_filters.CharFilter(field_name="family_name", lookup_expr="istartswith")
    birth_date = django_filters.DateFilter(field_name="birth_date")

    class Meta:
        model = Patient
        fields: list[str] = []


def resolve_clinic(view: ApiViewSet, value: Any, errors: Errors) -> Clinic | None:
    """The clinic a new patient goes to; 404 for a clinic that is not yours."""
    user = view.request.user
    roles = roles_for(user)
    if value is None:
        writable = [cid for cid, role in roles.items() if role in ("coordinator", "physician")]
        if len(roles) == 1 or len(writable) == 1:
            return Clinic.objects.get(pk=writable[0] if writable else next(iter(roles)))
        errors.setdefault("clinic", []).append(
            "This field is required (you can write in more than one clinic)."
            if writable
            else "This field is required."
        )
        return None
    clinic_id = parse_uuid(value, "clinic", errors)
    if clinic_id is None:
        return None
    if clinic_id not in roles:
        raise ApiError(
            "No such clinic among yours.",
            status_code=404,
            code="not_found",
            errors={"clinic": ["No such clinic among yours."]},
        )
    return Clinic.objects.get(pk=clinic_id)


@extend_schema_view(
    list=extend_schema(responses=list_of(PatientSerializer, "Patient")),
    create=extend_schema(request=PatientCreateSerializer, responses={201: PatientSerializer}),
    update=extend_schema(request=PatientUpdateSerializer),
    partial_update=extend_schema(request=PatientUpdateSerializer),
)
class PatientViewSet(HistoryMixin, ApiViewSet):
    """Patients of your clinics. Deleting leaves a tombstone for syncing clients."""

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = ["family_name", "given_name", "birth_date", "mrn", "created_at", "updated_at"]
    ordering = ("family_name", "given_name")
    sync_filters = ("clinic",)

    def patient_id_of(self, row: Any) -> uuid.UUID | None:
        return row.pk  # type: ignore[no-any-return]

    def scoped(self) -> QuerySet[Any]:
        return Patient.objects.filter(clinic_id__in=self.clinic_ids())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data, errors = self.body(request, allowed=(*PATIENT_FIELDS, "clinic"))
        clinic = resolve_clinic(self, data.pop("clinic", None), errors)
        if clinic is not None:
            self.require_writer(clinic.id)
        target = clinic or Clinic.objects.filter(id__in=self.clinic_ids()).first()
        if target is None:
            self.run_service(lambda: None, errors)
        assert target is not None  # run_service raised: errors name the clinic
        patient = self.run_service(
            lambda: patient_create(
                clinic=target,
                mrn=data.get("mrn"),
                given_name=data.get("given_name"),
                family_name=data.get("family_name"),
                birth_date=data.get("birth_date"),
                sex=data.get("sex", "unknown"),
                deceased_date=data.get("deceased_date"),
                phone=data.get("phone", ""),
                phone_alt=data.get("phone_alt", ""),
                contact_time=data.get("contact_time", ""),
                now=self.now,
            ),
            errors,
        )
        return self.object_response(patient, 201)

    def update(
        self, request: Request, *args: Any, partial: bool = False, **kwargs: Any
    ) -> Response:
        data, errors = self.body(
            request, allowed=PATIENT_FIELDS, required=() if partial else PATIENT_REQUIRED
        )
        return self.write(
            request,
            update=lambda p: self.run_service(
                lambda: patient_update(
                    patient=p, data=data, now=self.now, actor_id=self.request.user.pk
                ),
                errors,
            ),
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.write(
            request, update=lambda p: patient_delete(patient=p, now=self.now) and None
        )


# ---------------------------------------------------- patient-level facts --
class MedicationSerializer(StrictModelSerializer):
    drug_class = serializers.CharField(read_only=True)
    unverified = serializers.BooleanField(
        read_only=True,
        help_text="An imported prescription with no evidence in the 12 months before the "
        "import; it counts as on treatment until someone confirms it (POST …/verify/) or "
        "stops it.",
    )

    class Meta:
        model = Medication
        fields = [
            "id",
            "patient",
            "drug",
            "drug_class",
            "start_date",
            "stop_date",
            "dose",
            "route",
            "unverified",
            "version",
            "created_at",
            "updated_at",
        ]


class MedicationWriteSerializer(serializers.Serializer[Any]):
    drug = serializers.ChoiceField(choices=Drug.choices)
    start_date = serializers.DateField(help_text="Not in the future.")
    stop_date = serializers.DateField(
        required=False, allow_null=True, help_text="Not before start_date, not in the future."
    )
    dose = serializers.CharField(max_length=100, required=False, allow_blank=True)
    route = serializers.ChoiceField(choices=Route.choices, required=False, allow_blank=True)


class BoneDensitySerializer(StrictModelSerializer):
    bmd_g_cm2 = serializers.DecimalField(max_digits=5, decimal_places=3, coerce_to_string=False)
    t_score = serializers.DecimalField(
        max_digits=3, decimal_places=1, coerce_to_string=False, allow_null=True
    )

    class Meta:
        model = BoneDensity
        fields = [
            "id",
            "patient",
            "performed_date",
            "site",
            "bmd_g_cm2",
            "t_score",
            "version",
            "created_at",
            "updated_at",
        ]


class BoneDensityWriteSerializer(serializers.Serializer[Any]):
    performed_date = serializers.DateField(help_text="Not in the future.")
    site = serializers.ChoiceField(choices=DxaSite.choices)
    bmd_g_cm2 = serializers.FloatField(min_value=0.1, max_value=2.5, help_text="g/cm².")
    t_score = serializers.FloatField(min_value=-7, max_value=5, required=False, allow_null=True)


class PatientFactFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient_id")

    class Meta:
        fields: list[str] = []


class MedicationFilter(PatientFactFilter):
    drug = django_filters.ChoiceFilter(choices=Drug.choices)

    class Meta:
        model = Medication
        fields: list[str] = []


class BoneDensityFilter(PatientFactFilter):
    site = django_filters.ChoiceFilter(choices=DxaSite.choices)

    class Meta:
        model = BoneDensity
        fields: list[str] = []


class VoidSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000, help_text="Why the entry is voided.")


class PatientFactVoidMixin:
    """``POST …/{id}/void/``: a medication or DXA entered by mistake, with the reason."""

    @extend_schema(request=VoidSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def void(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Void the entry with the reason (required); the pathway is
        re-evaluated without it. Answers 204."""
        data, errors = self.body(request, allowed=("reason",), required=("reason",))
        return self.write(  # type: ignore[no-any-return]
            request,
            update=lambda r: self.run_service(
                lambda: patient_fact_void(
                    record=r, reason=data.get("reason"), now=self.now, actor_id=request.user.pk
                ),
                errors,
            ),
        )


class PatientFactViewSet(HistoryMixin, ApiViewSet):
    """Shared by medications and bone density, nested or flat."""

    model: type[Medication] | type[BoneDensity]
    nested = False
    sync_filters = ("patient",)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.nested:
            self.patient = self.parent_patient()

    def parent_patient(self) -> Patient:
        patient_id = self.kwargs.get("patient_pk")
        patient = (
            Patient.objects.alive()
            .select_related("clinic")
            .filter(pk=patient_id, clinic_id__in=self.clinic_ids())
            .first()
        )
        if patient is None:
            raise not_found()
        return patient

    def scoped(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.model.objects.none()
        qs = self.model.objects.filter(patient__clinic_id__in=self.clinic_ids())
        if self.nested:
            qs = qs.filter(patient_id=self.kwargs.get("patient_pk", ""))
        return qs

    def get_queryset(self) -> QuerySet[Any]:
        return self.scoped().filter(deleted_at__isnull=True, patient__deleted_at__isnull=True)

    def clinic_of(self, obj: Any) -> uuid.UUID:
        return self.patient.clinic_id if self.nested else obj.patient.clinic_id

    def location_of(self, obj: Any) -> str:
        return f"{self.request.path.rstrip('/')}/{obj.pk}/"


@extend_schema_view(
    list=extend_schema(responses=list_of(MedicationSerializer, "Medication")),
    create=extend_schema(request=MedicationWriteSerializer, responses={201: MedicationSerializer}),
    update=extend_schema(request=MedicationWriteSerializer),
    partial_update=extend_schema(request=MedicationWriteSerializer),
)
class PatientMedicationViewSet(PatientFactVoidMixin, PatientFactViewSet):
    """A patient's medications; every episode of the patient sees them."""

    model = Medication
    nested = True
    serializer_class = MedicationSerializer
    filterset_class = MedicationFilter
    ordering_fields = ["start_date", "updated_at"]
    ordering = ("start_date",)
    object_actions = ("verify",)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data, errors = self.body(request, allowed=MEDICATION_FIELDS)
        self.require_writer(self.patient.clinic_id)
        med = self.run_service(
            lambda: medication_record(
                patient=self.patient, data=data, now=self.now, actor_id=self.request.user.pk
            ),
            errors,
        )
        return self.object_response(med, 201)

    def update(
        self, request: Request, *args: Any, partial: bool = False, **kwargs: Any
    ) -> Response:
        required = () if partial else ("drug", "start_date")
        data, errors = self.body(request, allowed=MEDICATION_FIELDS, required=required)
        return self.write(
            request,
            update=lambda m: self.run_service(
                lambda: medication_update(
                    medication=m, data=data, now=self.now, actor_id=self.request.user.pk
                ),
                errors,
            ),
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.write(
            request,
            update=lambda m: medication_delete(
                medication=m, now=self.now, actor_id=self.request.user.pk
            ),
        )

    @extend_schema(request=None, responses=MedicationSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Confirm an imported prescription that is marked unverified (the patient takes it)."""
        _, errors = self.body(request, allowed=())

        def verify(med: Medication) -> Medication:
            return self.run_service(  # type: ignore[no-any-return]
                lambda: medication_verify(medication=med, actor=self.request.user, now=self.now),
                errors,
            )

        return self.idempotent(request, lambda: self.write(request, update=verify))


@extend_schema_view(
    list=extend_schema(responses=list_of(BoneDensitySerializer, "BoneDensity")),
    create=extend_schema(
        request=BoneDensityWriteSerializer, responses={201: BoneDensitySerializer}
    ),
)
class PatientBoneDensityViewSet(PatientFactVoidMixin, PatientFactViewSet):
    """A patient's DXA scans (recorded or deleted; a wrong scan is deleted and re-recorded)."""

    model = BoneDensity
    nested = True
    serializer_class = BoneDensitySerializer
    filterset_class = BoneDensityFilter
    ordering_fields = ["performed_date", "updated_at"]
    ordering = ("performed_date",)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data, errors = self.body(request, allowed=DXA_FIELDS)
        self.require_writer(self.patient.clinic_id)
        scan = self.run_service(
            lambda: bone_density_record(
                patient=self.patient, data=data, now=self.now, actor_id=self.request.user.pk
            ),
            errors,
        )
        return self.object_response(scan, 201)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.write(
            request,
            update=lambda s: bone_density_delete(
                scan=s, now=self.now, actor_id=self.request.user.pk
            ),
        )


@extend_schema_view(list=extend_schema(responses=list_of(MedicationSerializer, "Medication")))
class MedicationViewSet(PatientFactViewSet):
    """Medications of every patient of your clinics (read only; for sync)."""

    model = Medication
    serializer_class = MedicationSerializer
    filterset_class = MedicationFilter
    ordering_fields = ["start_date", "updated_at"]
    ordering = ("start_date",)


@extend_schema_view(list=extend_schema(responses=list_of(BoneDensitySerializer, "BoneDensity")))
class BoneDensityViewSet(PatientFactViewSet):
    """DXA scans of every patient of your clinics (read only; for sync)."""

    model = BoneDensity
    serializer_class = BoneDensitySerializer
    filterset_class = BoneDensityFilter
    ordering_fields = ["performed_date", "updated_at"]
    ordering = ("performed_date",)
