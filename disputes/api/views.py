"""REST API v1 for the call center (docs/design.md, "REST API v1"; docs/api.md).

Thin views: reads through ``disputes.selectors``, writes through
the workflow services (``disputes.workflow``); errors leave as problem details (``api.errors``).
"""
from __future__ import annotations

from datetime import timezone as dt_timezone

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, permissions, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from disputes import selectors
from disputes.api.errors import PreconditionFailed
from disputes.api.filters import CaseFilter
from disputes.api.idempotency import idempotent
from disputes.api.serializers import (
    CaseCreatedSerializer,
    CaseCreateSerializer,
    CaseDetailSerializer,
    CaseEventSerializer,
    CaseNoteSerializer,
    CaseSerializer,
    CustomerSerializer,
    MerchantSerializer,
    NoteCreateSerializer,
    ProblemSerializer,
    TransitionSerializer,
)
from disputes.models import TRANSITION_NAMES, Case
from disputes.workflow.casework import case_add_note
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel
from disputes.refunds.payment import refund_retry
from disputes.workflow.steps import case_transition

# --- shared pieces ------------------------------------------------------------------


class CanViewCases(permissions.BasePermission):
    """Staff roles (agent, supervisor, call center, admin): they hold view_case."""

    message = _("Your account has no role that may use the case API.")

    def has_permission(self, request, view) -> bool:
        return selectors.user_may_view_cases(request.user)


API_PERMISSIONS = [permissions.IsAuthenticated, CanViewCases]


class InstantCursorPagination(CursorPagination):
    """Cursor pagination over a time ordering, whose bad cursor is the client's
    error (400 naming ``cursor``), not a missing page (DRF's 404): garbage,
    a tampered offset, or a position that is no time PostgreSQL can compare."""

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            cursor = None
        else:
            if cursor is None or cursor.position is None or _is_instant(cursor.position):
                return cursor
        raise exceptions.ValidationError({self.cursor_query_param: [
            _("This cursor is not valid: use the next or previous link of a page as it is.")]})


def _is_instant(text: str) -> bool:
    try:
        moment = parse_datetime(text)
        if moment is not None:
            moment.astimezone(dt_timezone.utc)
    except (ValueError, OverflowError):
        return False
    return moment is not None


class CasePagination(InstantCursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class EventPagination(InstantCursorPagination):
    ordering = ("created_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def etag(case: Case) -> str:
    return f'"{case.version}"'


def expected_version(request) -> int | None:
    """The case version named by If-Match (an ETag we sent: "3" or W/"3"), or
    None when there is no If-Match or it is "*"."""
    header = (request.headers.get("If-Match") or "").strip()
    if not header or header == "*":
        return None
    tag = header.split(",")[0].strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if not tag.isdigit():
        raise PreconditionFailed(_("If-Match must carry the ETag of the case, for example \"3\"."))
    return int(tag)


def problems(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "Invalid input (a field, a filter, a cursor); `errors` lists the messages per field.",
        401: "No or bad token.",
        403: "The caller's role may not do this.",
        404: "No such case (or transition, customer, merchant).",
        409: "Not possible in the case's current state, or the first request with this Idempotency-Key is still running.",
        412: "If-Match names a version that is no longer current: re-read the case.",
        422: "This Idempotency-Key was used with a different request.",
        429: "Too many requests: wait for Retry-After seconds.",
    }
    return {code: OpenApiResponse(ProblemSerializer, description=descriptions[code]) for code in codes}


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="A unique key per intended request (a UUID). Retrying with the same key replays the first "
    "response for 48 hours instead of doing the work twice; the same key with another body answers 422.",
)
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description='The ETag of the case as last read (e.g. "3"). If the case changed since, the request fails '
    "with 412 and nothing changes.",
)
REFERENCE = OpenApiParameter("reference", OpenApiTypes.STR, OpenApiParameter.PATH, description="The case reference, e.g. DD261120-7K3M9Q.")


def _case_response(request, case: Case, *, status_code: int = status.HTTP_200_OK, serializer_class=CaseDetailSerializer,
                   context: dict | None = None, headers: dict | None = None) -> Response:
    data = serializer_class(case, context={"request": request, **(context or {})}).data
    return Response(data, status=status_code, headers={"ETag": etag(case), **(headers or {})})


# --- cases --------------------------------------------------------------------------


class CaseListCreate(generics.ListAPIView):
    permission_classes = API_PERMISSIONS
    serializer_class = CaseSerializer
    pagination_class = CasePagination
    filterset_class = CaseFilter

    def get_queryset(self):
        return selectors.case_list(user=self.request.user)

    @extend_schema(
        operation_id="listCases",
        summary="List cases",
        description="Newest first, cursor-paginated; combine the filters freely.",
        responses={200: CaseSerializer(many=True), **problems(400, 401, 403, 429)},
        tags=["cases"],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="createCase",
        summary="File a complaint",
        description="Files a case for the customer on the phone. The response's `tracking_code` is shown only "
        "here: read it to the customer. Send an Idempotency-Key to retry safely.",
        request=CaseCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: OpenApiResponse(CaseCreatedSerializer, description="Filed; `ETag` carries the version, `Location` the case."),
                   **problems(400, 401, 403, 409, 422, 429)},
        tags=["cases"],
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        serializer = CaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            filed = case_file(actor=request.user, channel=Channel.API, **serializer.service_arguments())
        except DjangoValidationError as exc:
            raise serializer.api_errors(exc) from None
        return _case_response(
            request, filed.case, status_code=status.HTTP_201_CREATED, serializer_class=CaseCreatedSerializer,
            context={"tracking_code": filed.tracking_code},
            headers={"Location": request.build_absolute_uri(f"/api/v1/cases/{filed.case.reference}/")},
        )


class CaseDetail(APIView):
    permission_classes = API_PERMISSIONS

    @extend_schema(
        operation_id="getCase",
        summary="Read a case",
        description="With the transitions the caller may take now, the version (also in `ETag`) and the SLA clocks.",
        parameters=[REFERENCE],
        responses={200: CaseDetailSerializer, **problems(401, 403, 404, 429)},
        tags=["cases"],
    )
    def get(self, request, reference: str):
        return _case_response(request, selectors.case_get(user=request.user, reference=reference))


class CaseEventList(generics.ListAPIView):
    permission_classes = API_PERMISSIONS
    serializer_class = CaseEventSerializer
    pagination_class = EventPagination
    filter_backends: list = []

    def get_queryset(self):
        case = selectors.case_get(user=self.request.user, reference=self.kwargs["reference"])
        return selectors.case_events(case=case)

    @extend_schema(
        operation_id="listCaseEvents",
        summary="A case's audit trail",
        description="Every filing, transition, note, assignment and notification, oldest first.",
        parameters=[REFERENCE],
        responses={200: CaseEventSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=["cases"],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CaseNoteCreate(APIView):
    permission_classes = API_PERMISSIONS

    @extend_schema(
        operation_id="addCaseNote",
        summary="Add a note",
        description="An internal note, or one visible to (and e-mailed to) the customer.",
        parameters=[REFERENCE, IDEMPOTENCY_KEY],
        request=NoteCreateSerializer,
        responses={201: CaseNoteSerializer, **problems(400, 401, 403, 404, 409, 422, 429)},
        tags=["cases"],
    )
    @idempotent
    def post(self, request, reference: str):
        case = selectors.case_get(user=request.user, reference=reference)
        serializer = NoteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = case_add_note(case=case, actor=request.user, **serializer.validated_data)
        return Response(CaseNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class CaseTransitionCreate(APIView):
    permission_classes = API_PERMISSIONS

    @extend_schema(
        operation_id="transitionCase",
        summary="Take a workflow step",
        description="`withdraw` is the call center's step; the others belong to the bank's staff. `reject` needs "
        "`reason`, `propose_refund` needs `amount`. Send If-Match with the ETag you read to make sure "
        "nobody changed the case in between.",
        parameters=[
            REFERENCE,
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(TRANSITION_NAMES),
                             description="The transition, as named in the workflow."),
            IF_MATCH,
            IDEMPOTENCY_KEY,
        ],
        request=TransitionSerializer,
        responses={200: OpenApiResponse(CaseDetailSerializer, description="The case after the step; `ETag` carries the new version."),
                   **problems(400, 401, 403, 404, 409, 412, 422, 429)},
        tags=["cases"],
    )
    @idempotent
    def post(self, request, reference: str, name: str):
        case = selectors.case_get(user=request.user, reference=reference)
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = case_transition(
            case=case, name=name, actor=request.user, expected_version=expected_version(request),
            **serializer.validated_data,
        )
        return _case_response(request, case)


class CaseRefundRetry(APIView):
    permission_classes = API_PERMISSIONS

    @extend_schema(
        operation_id="retryRefundPayment",
        summary="Retry a failed refund payment",
        description="A supervisor has the failed payment of the case's approved refund tried again, with the same "
        "idempotency key at the payment system (a payment it did make is not made twice). 409 when no payment "
        "of the case has failed.",
        parameters=[REFERENCE, IDEMPOTENCY_KEY],
        request=None,
        responses={202: OpenApiResponse(CaseDetailSerializer, description="The case; the payment is queued."),
                   **problems(400, 401, 403, 404, 409, 422, 429)},
        tags=["cases"],
    )
    @idempotent
    def post(self, request, reference: str):
        case = selectors.case_get(user=request.user, reference=reference)
        refund_retry(case=case, actor=request.user)
        return _case_response(request, case, status_code=status.HTTP_202_ACCEPTED)


# --- look-ups -------------------------------------------------------------------------


class CustomerLookup(APIView):
    permission_classes = API_PERMISSIONS

    @extend_schema(
        operation_id="lookupCustomers",
        summary="Find a customer by phone",
        description="The customer with this phone number (spaces and dashes ignored), with cards and cases; "
        "an empty list when there is none.",
        parameters=[OpenApiParameter("phone", {"type": "string", "pattern": r"^\+?[0-9]{6,15}$"}, OpenApiParameter.QUERY,
                                     required=True, description="e.g. +8613800138000",
                                     examples=[OpenApiExample("A mobile number", value="+8613800138000")])],
        responses={200: CustomerSerializer(many=True), **problems(400, 401, 403, 429)},
        tags=["look-ups"],
    )
    def get(self, request):
        phone = (request.query_params.get("phone") or "").strip()
        if not phone:
            raise exceptions.ValidationError({"phone": [_("Give the phone number to look up.")]})
        customers = selectors.customer_lookup(user=request.user, phone=phone)  # ValidationError: not a phone number
        return Response(CustomerSerializer(customers, many=True).data)


class MerchantDetail(APIView):
    permission_classes = API_PERMISSIONS

    @extend_schema(
        operation_id="getMerchant",
        summary="Find a merchant by merchant id",
        parameters=[OpenApiParameter("merchant_id", {"type": "string", "pattern": "^[0-9]{15}$"}, OpenApiParameter.PATH,
                                     description="The 15-digit merchant id (商户编号).",
                                     examples=[OpenApiExample("A merchant id", value="103287654110281")])],
        responses={200: MerchantSerializer, **problems(401, 403, 404, 429)},
        tags=["look-ups"],
    )
    def get(self, request, merchant_id: str):
        return Response(MerchantSerializer(selectors.merchant_get(user=request.user, merchant_id=merchant_id)).data)
