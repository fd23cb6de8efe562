"""The filters of GET /api/v1/cases/ (docs/design.md, "REST API v1"); conditions come from the selectors."""
from datetime import timezone as dt_timezone

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from customers.models import normalize_phone
from disputes import selectors
from disputes.models import Case
from disputes.workflow.names import State


class InstantFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant, compared in UTC (PostgreSQL refuses offsets beyond ±16 h)."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(dt_timezone.utc)
            except (OverflowError, ValueError):
                raise ValidationError({self.field_name_in_query: [_("Enter a valid date and time.")]}) from None
        return super().filter(qs, value)

    @property
    def field_name_in_query(self) -> str:
        return next((name for name, f in self.parent.filters.items() if f is self), self.field_name)


class CaseFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices, help_text=_("One or more states."))
    assignee = django_filters.CharFilter(field_name="assignee__username", help_text=_("The assignee's username."))
    phone = django_filters.CharFilter(method="filter_phone", help_text=_("The customer's phone number."))
    card_last4 = django_filters.CharFilter(field_name="card__last4", help_text=_("The card's last 4 digits."))
    merchant_id = django_filters.CharFilter(field_name="merchant_id", help_text=_("The 15-digit merchant id."))
    overdue = django_filters.CharFilter(
        method="filter_overdue", help_text=_("Open cases whose stage or final deadline has passed (true), or the others (false)."))
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte",
                                                     help_text=_("Filed at or after (ISO 8601)."))
    created_before = InstantFilter(field_name="created_at", lookup_expr="lt",
                                                      help_text=_("Filed before (ISO 8601)."))

    class Meta:
        model = Case
        fields = ["state", "assignee", "phone", "card_last4", "merchant_id", "overdue", "created_after", "created_before"]

    def filter_phone(self, queryset, name, value):
        return queryset.filter(customer__phone=normalize_phone(value))

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_overdue(self, queryset, name, value):
        flag = {"true": True, "1": True, "false": False, "0": False}.get(value.strip().lower())
        if flag is None:
            raise ValidationError({"overdue": [_("Use true or false.")]})
        return selectors.case_filter_overdue(queryset, flag)
