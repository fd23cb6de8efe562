"""Admin for customers and their cards.

A card is only ever shown masked (issuer BIN, then dots, then the last 4):
its digits are typed once, when it is added, and read back masked.
"""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from customers.models import normalize_phone
from core.admin import BigTableAdmin

from .models import Card, Customer


class CardInline(admin.TabularInline):
    """The customer's cards, masked; added and edited on the card page."""

    model = Card
    fields = ("scheme", "masked")
    readonly_fields = ("scheme", "masked")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(BigTableAdmin):
    list_display = ("name", "phone", "email", "verified", "preferred_language", "created_at")
    list_filter = ("verified", "preferred_language")
    search_fields = ("phone__exact",)  # shows the box; get_search_results reads the term's shape
    search_help_text = _("Exact phone number (+86…), e-mail address or full name.")
    # Newest first, on the primary key: sorting millions of names is not a list page.
    ordering = ("-id",)
    sortable_by = ()
    readonly_fields = ("created_at",)
    inlines = (CardInline,)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        """One column, chosen by the term's shape: the table holds every complainant."""
        term = search_term.strip()
        if not term:
            return queryset, False
        compact = normalize_phone(term)
        if compact.lstrip("+").isdigit():
            phones = [compact] if compact.startswith("+") else [compact, f"+86{compact}"]
            return queryset.filter(phone__in=phones), False
        if "@" in term:
            return queryset.filter(email__iexact=term), False
        return queryset.filter(name=term), False


@admin.register(Card)
class CardAdmin(BigTableAdmin):
    list_display = ("masked", "scheme", "customer")
    list_filter = ("scheme",)
    list_select_related = ("customer",)
    search_fields = ("last4__exact",)
    search_help_text = _("Exact last 4 digits.")
    sortable_by = ()
    raw_id_fields = ("customer",)

    def get_fields(self, request: HttpRequest, obj: Card | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("customer", "scheme", "bin6", "last4")
        return ("customer", "scheme", "masked")

    def get_readonly_fields(self, request: HttpRequest, obj: Card | None = None) -> tuple[str, ...]:
        return () if obj is None else ("masked",)

    @admin.display(description=_("card"))
    def masked(self, obj: Card) -> str:
        return obj.masked
