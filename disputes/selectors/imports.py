"""The imports page's reads (``/staff/imports/``): who may import, one run,
and the history of imports newest first in keyset pages (no OFFSET)."""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from transactions.models import ImportRun

IMPORTS_PAGE_SIZE = 20


def user_may_import(user) -> bool:
    """Supervisors (``transactions.import_records``): the imports page is theirs."""
    return bool(user and user.is_authenticated and user.has_perm("transactions.import_records"))


def _require_importer(user) -> None:
    if not user_may_import(user):
        raise PermissionDenied(_("The imports page is for supervisors."))


def import_run_get(*, user, run_id: int) -> ImportRun | None:
    _require_importer(user)
    return ImportRun.objects.select_related("user").filter(pk=run_id).first()


@dataclass(frozen=True)
class ImportsPage:
    runs: list[ImportRun]
    next_before: int | None  # the ``before`` of the next (older) page, None on the last


def import_runs_page(*, user, before: int | None = None, size: int = IMPORTS_PAGE_SIZE) -> ImportsPage:
    """Every import (uploads and the command's), newest first; ``before``: the
    id the page starts below. One query."""
    _require_importer(user)
    runs = ImportRun.objects.select_related("user").order_by("-id")
    if before is not None:
        runs = runs.filter(pk__lt=before)
    found = list(runs[:size + 1])
    return ImportsPage(runs=found[:size], next_before=found[size - 1].pk if len(found) > size else None)
