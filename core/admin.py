"""The admin for tables of millions of rows (cases, customers, ledger entries…):
no COUNT(*) of a whole big table, no facet counts."""
from __future__ import annotations

from django.contrib import admin
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


class BigTableAdmin(admin.ModelAdmin):
    """Defaults for a table of millions of rows: no second count of the
    unfiltered table, no COUNT(*) of it either, no per-filter facet counts."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50
