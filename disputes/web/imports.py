"""The imports page (/staff/imports/): supervisors upload a ledger or
settlement file, watch its import's progress, and read the history of imports.

Thin: the upload is stored and queued by ``verification.uploads.records_upload``
(the worker runs the same import as ``manage.py import_transactions``); reads go
through ``selectors.imports``. While a run is queued or running, its panel
polls ``/staff/imports/<id>/progress/`` with htmx every second and replaces
itself; the finished panel no longer polls and tells the history to reload
(``HX-Trigger: import-finished``). Without JavaScript, a link reloads the page.
"""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from disputes.selectors.imports import import_run_get, import_runs_page, user_may_import
from disputes.verification.uploads import records_upload
from disputes.web.workspace import refusal, workspace_view
from transactions.importing import FORMATS
from transactions.models import RecordKind

# A text file has no NUL byte; a spreadsheet (.xlsx is a zip) or a PDF has some early on.
SNIFF_BYTES = 8192


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of file"), choices=RecordKind.choices,
                             error_messages={"required": gettext_lazy("Choose whether this is a ledger or a "
                                                                      "settlement file.")})
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8, its first line the header of its kind (\"What the files look like\", below)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": gettext_lazy("Choose the CSV file to import."),
                        "empty": gettext_lazy("The file is empty: choose the bank's CSV file."),
                        "invalid": gettext_lazy("No file was sent: choose the CSV file again.")},
    )

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError(_("Only CSV files (ending in .csv) can be imported."), code="not_csv")
        if upload.size > settings.DISPUTE_IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than %(max)s, the most this page accepts.") % {
                "max": filesizeformat(settings.DISPUTE_IMPORT_MAX_BYTES)}, code="too_large")
        upload.seek(0)
        start = upload.read(SNIFF_BYTES)
        upload.seek(0)
        if b"\x00" in start:
            raise forms.ValidationError(_("This file is not text (a spreadsheet or a PDF?): save it as CSV first."),
                                        code="not_text")
        return upload


def _refused(request: HttpRequest) -> HttpResponse | None:
    if user_may_import(request.user):
        return None
    return refusal(request, 403, _("The imports page is for supervisors."))


def _before(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


def _formats() -> list[tuple[str, str]]:
    """Each kind of file with its header line, for the page: the staff who upload
    the files have no copy of docs/design.md."""
    return [(label, ",".join(FORMATS[kind].columns)) for kind, label in RecordKind.choices]


@require_http_methods(["GET", "POST"])
@workspace_view
def imports_page(request: HttpRequest) -> HttpResponse:
    if refused := _refused(request):
        return refused
    form = ImportUploadForm()
    status = 200
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            run = records_upload(actor=request.user, kind=form.cleaned_data["kind"], file_name=upload.name,
                                 chunks=upload.chunks())
            response = redirect(f"{reverse('staff-imports')}?run={run.pk}")
            response.status_code = 303  # see the run (a GET), whatever the browser did with the POST
            return response
        status = 400
    run_id = request.GET.get("run", "")
    run = import_run_get(user=request.user, run_id=int(run_id)) if run_id.isdigit() else None
    history = import_runs_page(user=request.user, before=_before(request))
    return render(request, "disputes/staff/imports.html", {
        "form": form, "run": run, "history": history, "section": "imports", "formats": _formats(),
        "next_url": (f"{reverse('staff-imports')}?before={history.next_before}" if history.next_before else ""),
    }, status=status)


@require_GET
@workspace_view
def import_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run's panel alone, for htmx polling."""
    if refused := _refused(request):
        return refused
    run = import_run_get(user=request.user, run_id=run_id)
    if run is None:
        return refusal(request, 404, _("There is no such import."))
    response = render(request, "disputes/staff/_import_run.html", {"run": run})
    if run.finished:
        response["HX-Trigger"] = "import-finished"
    response["Cache-Control"] = "no-store"
    return response
