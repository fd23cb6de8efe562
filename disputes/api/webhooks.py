"""The call center's webhook endpoints, through the API (docs/api.md, "Receive
webhooks"): register, list, read, send a test ping, remove, and read the
delivery log with each attempt's outcome.

Who may: the call center and admin roles (``disputes.view_webhookendpoint`` to
read, ``disputes.change_webhookendpoint`` to change); agents and supervisors
work cases, not integrations (403). The work is in ``disputes.delivery.webhooks``.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from disputes import selectors
from disputes.api.idempotency import idempotent
from disputes.api.serializers import TextField
from disputes.api.throttling import PingRateThrottle, TokenRateThrottle
from disputes.api.views import API_PERMISSIONS, InstantCursorPagination, problems
from disputes.delivery import webhooks
from disputes.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint

# --- bodies ------------------------------------------------------------------------


class WebhookAttemptSerializer(serializers.Serializer):
    id = serializers.CharField(help_text=_("The attempt's id, also sent as Dispute-Desk-Attempt."))
    at = serializers.DateTimeField()
    status = serializers.IntegerField(allow_null=True, help_text=_("The receiver's HTTP status; empty when none came."))
    error = serializers.CharField(allow_blank=True, help_text=_("Why the attempt failed, e.g. a certificate error."))
    ms = serializers.IntegerField(help_text=_("How long the attempt took, in milliseconds."))
    replay = serializers.BooleanField(help_text=_("Whether the attempt followed an administrator's replay."))


class WebhookDeliverySerializer(serializers.ModelSerializer):
    type = serializers.SerializerMethodField(help_text=_("case.filed, case.transition or ping."))
    case = serializers.SerializerMethodField(help_text=_("The case's reference; empty for a ping."))
    status = serializers.ChoiceField(choices=WebhookDeliveryStatus.choices, read_only=True)
    next_attempt_at = serializers.SerializerMethodField(help_text=_("When the next attempt is due; empty unless pending."))
    body = serializers.JSONField(source="payload", read_only=True, help_text=_("The JSON body sent."))
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "type", "case", "event_id", "status", "attempts", "replays", "last_status_code", "last_error",
                  "next_attempt_at", "created_at", "delivered_at", "body", "attempt_log"]
        read_only_fields = fields

    def get_type(self, delivery: WebhookDelivery) -> str:
        return delivery.payload.get("type", "")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_case(self, delivery: WebhookDelivery) -> str | None:
        return delivery.event.case.reference if delivery.event_id else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery: WebhookDelivery) -> str | None:
        if delivery.status != WebhookDeliveryStatus.PENDING:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    registered_by = serializers.SlugRelatedField(source="created_by", slug_field="username", read_only=True,
                                                 allow_null=True)
    last_delivery = serializers.SerializerMethodField(
        help_text=_("The latest delivery, with its attempts and last error; empty before the first."))
    deliveries_pending = serializers.IntegerField(read_only=True, help_text=_("Deliveries still being tried."))
    deliveries_failed = serializers.IntegerField(read_only=True, help_text=_("Deliveries given up."))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "name", "url", "active", "created_at", "registered_by", "last_delivery",
                  "deliveries_pending", "deliveries_failed"]
        read_only_fields = fields

    @extend_schema_field(WebhookDeliverySerializer(allow_null=True))
    def get_last_delivery(self, endpoint: WebhookEndpoint) -> dict | None:
        delivery = getattr(endpoint, "last_delivery", None)
        return WebhookDeliverySerializer(delivery).data if delivery is not None else None


class WebhookEndpointRegisteredSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text=_(
        "The signing secret: check the Dispute-Desk-Signature of every delivery with it. Shown only in this answer."))

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointRegisterSerializer(serializers.Serializer):
    name = TextField(max_length=100)
    url = serializers.URLField(max_length=500, help_text=_("Where to POST the deliveries; https:// in production."))
    secret = TextField(min_length=16, max_length=128, required=False, allow_blank=True, default="",
                       help_text=_("Leave it out to have one made up (returned in the answer)."))
    active = serializers.BooleanField(required=False, default=True)


# --- views ---------------------------------------------------------------------------


class CanManageWebhooks(permissions.BasePermission):
    """Reading needs the view permissions, registering, pinging and removing the change one."""

    message = _("Your role may not manage webhook endpoints: the call center and administrators may.")

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return request.user.has_perm("disputes.view_webhookendpoint") and request.user.has_perm(
                "disputes.view_webhookdelivery")
        return request.user.has_perm("disputes.change_webhookendpoint")


WEBHOOK_PERMISSIONS = [*API_PERMISSIONS, CanManageWebhooks]
ENDPOINT_ID = OpenApiParameter("endpoint_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                               description="The endpoint's id, as registering answered it.")


class DeliveryPagination(InstantCursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class WebhookEndpointListCreate(APIView):
    permission_classes = WEBHOOK_PERMISSIONS

    @extend_schema(
        operation_id="listWebhookEndpoints",
        summary="List webhook endpoints",
        description="Every endpoint that receives the case state changes, with its latest delivery (status, "
        "attempts, last error, next attempt) and how many deliveries are pending or given up.",
        responses={200: WebhookEndpointSerializer(many=True), **problems(401, 403, 429)},
        tags=["webhooks"],
    )
    def get(self, request):
        return Response(WebhookEndpointSerializer(selectors.webhook_endpoint_list(user=request.user), many=True).data)

    @extend_schema(
        operation_id="registerWebhookEndpoint",
        summary="Register a webhook endpoint",
        description="From now on every filing and every transition of every case is POSTed to the URL, signed with "
        "the secret. Registering a URL already registered changes its name, secret and active flag (200). The "
        "answer carries the secret: keep it. Send a ping next.",
        request=WebhookEndpointRegisterSerializer,
        responses={201: OpenApiResponse(WebhookEndpointRegisteredSerializer, description="Registered."),
                   200: OpenApiResponse(WebhookEndpointRegisteredSerializer, description="Registered again."),
                   **problems(400, 401, 403, 409, 422, 429)},
        tags=["webhooks"],
    )
    @idempotent
    def post(self, request):
        serializer = WebhookEndpointRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        known = any(endpoint.url == serializer.validated_data["url"]
                    for endpoint in selectors.webhook_endpoint_list(user=request.user))
        endpoint = webhooks.webhook_endpoint_register(actor=request.user, **serializer.validated_data)
        shown = selectors.webhook_endpoint_get(user=request.user, endpoint_id=endpoint.pk)
        return Response(WebhookEndpointRegisteredSerializer(shown).data,
                        status=status.HTTP_200_OK if known else status.HTTP_201_CREATED,
                        headers={"Location": request.build_absolute_uri(f"/api/v1/webhooks/{endpoint.pk}/")})


class WebhookEndpointDetail(APIView):
    permission_classes = WEBHOOK_PERMISSIONS

    @extend_schema(
        operation_id="getWebhookEndpoint",
        summary="Read a webhook endpoint",
        description="With its latest delivery: status, attempts, the last HTTP status or error (a refused "
        "certificate, a timeout) and when the next attempt is due.",
        parameters=[ENDPOINT_ID],
        responses={200: WebhookEndpointSerializer, **problems(401, 403, 404, 429)},
        tags=["webhooks"],
    )
    def get(self, request, endpoint_id: int):
        return Response(WebhookEndpointSerializer(
            selectors.webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)).data)

    @extend_schema(
        operation_id="removeWebhookEndpoint",
        summary="Remove a webhook endpoint",
        description="Nothing more is sent to it; its pending deliveries are given up. The bank keeps its log.",
        parameters=[ENDPOINT_ID],
        responses={204: OpenApiResponse(description="Removed."), **problems(401, 403, 404, 429)},
        tags=["webhooks"],
    )
    def delete(self, request, endpoint_id: int):
        webhooks.webhook_endpoint_remove(endpoint=selectors.webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointPing(APIView):
    permission_classes = WEBHOOK_PERMISSIONS
    throttle_classes = [TokenRateThrottle, PingRateThrottle]

    @extend_schema(
        operation_id="pingWebhookEndpoint",
        summary="Send a test ping",
        description="POSTs a signed `ping` to the endpoint now, once, and answers with that delivery: `delivered`, "
        "or `failed` with the receiver's HTTP status or the error (e.g. its certificate was refused).",
        parameters=[ENDPOINT_ID],
        request=None,
        responses={200: WebhookDeliverySerializer, **problems(401, 403, 404, 429)},
        tags=["webhooks"],
    )
    def post(self, request, endpoint_id: int):
        endpoint = selectors.webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)
        return Response(WebhookDeliverySerializer(webhooks.webhook_endpoint_ping(endpoint=endpoint)).data)


class WebhookDeliveryList(generics.ListAPIView):
    permission_classes = WEBHOOK_PERMISSIONS
    serializer_class = WebhookDeliverySerializer
    pagination_class = DeliveryPagination
    filter_backends: list = []

    def get_queryset(self):
        endpoint = selectors.webhook_endpoint_get(user=self.request.user, endpoint_id=self.kwargs["endpoint_id"])
        wanted = self.request.query_params.get("status") or None
        if wanted is not None and wanted not in WebhookDeliveryStatus.values:
            raise serializers.ValidationError({"status": [_("Choose pending, delivered or failed.")]})
        return selectors.webhook_deliveries(endpoint=endpoint, status=wanted)

    @extend_schema(
        operation_id="listWebhookDeliveries",
        summary="An endpoint's delivery log",
        description="Newest first, cursor-paginated: each delivery with its status, attempts (each with its id, "
        "time, HTTP status or error, and whether it was a replay), last error and next attempt.",
        parameters=[ENDPOINT_ID, OpenApiParameter("status", OpenApiTypes.STR, OpenApiParameter.QUERY,
                                                  enum=list(WebhookDeliveryStatus.values),
                                                  description="Only the deliveries in this status.")],
        responses={200: WebhookDeliverySerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=["webhooks"],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
