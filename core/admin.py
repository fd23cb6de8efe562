"""The admin for tables of millions of rows (cases, customers, ledger entries…):
no COUNT(*) of a whole big table, no facet counts."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """A paginator that does not COUNT(*) a whole big table.

    Unfiltered, on PostgreSQL, it takes the planner's row estimate when that
    says the table is large; a filtered list, or a small table, is counted.
    """

    ESTIMATE_ABOVE = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                        [queryset.model._meta.db_table],
                    )
                    row = cursor.fetchone()
                if row and row[0] > self.ESTIMATE_ABOVE:
                    return int(row[0])
        return super().count


class KeysOnlyAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete, except that a form shown again with something
    that is no key of the other table (``NaN`` or a date for the merchant)
    drops it: Django's widget looked it up as a key and the page answered 500
    instead of the form's own error ("Select a valid choice")."""

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        key = remote.model._meta.get_field(getattr(remote, "field_name", None) or remote.model._meta.pk.name)

        def is_key(candidate) -> bool:
            try:
                key.to_python(candidate)
            except ValidationError:
                return False
            return True

        return super().optgroups(name, [candidate for candidate in value if is_key(candidate)], attr)


class BigTableAdmin(admin.ModelAdmin):
    """Defaults for a table of millions of rows: no second count of the
    unfiltered table, no COUNT(*) of it either, no per-filter facet counts;
    its foreign keys chosen by autocomplete (``autocomplete_fields``: a list of
    every merchant would not fit a page) with ``KeysOnlyAutocompleteSelect``."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KeysOnlyAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
