"""Web views: thin; reads go through selectors, writes through services."""
import logging
import math

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.celery import app as celery_app
from core.cardguard import mask_card_numbers
from customers.models import Language
from disputes import selectors
from disputes.api.errors import discard_unread_body, problem_response, request_error
from disputes.web.forms import ComplaintForm, EvidenceForm, ReplyForm, TrackForm, WithdrawForm
from disputes.workflow import tracking
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.casework import case_attach
from disputes.workflow.errors import CaseError
from disputes.workflow.filing import case_file
from disputes.workflow.filing_limits import FilingLimited
from disputes.workflow.names import CUSTOMER_WORDING, Channel
from disputes.verification.checks import customer_wording
from disputes.workflow.steps import case_customer_reply, case_transition
from disputes.workflow.transitions import allowed_transitions

logger = logging.getLogger(__name__)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "disputes/home.html")


def login_locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The page django-axes answers (AXES_LOCKOUT_CALLABLE) when a login is
    refused because its username is locked out: 429, in the user's language."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(request, "registration/locked_out.html", {"minutes": math.ceil(seconds / 60)}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - any failure means "down"
        logger.warning("healthz: database unavailable", exc_info=True)
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001
        logger.warning("healthz: broker unavailable", exc_info=True)
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and CI: 200 when the database and the broker answer."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    body.update({name: "ok" if ok else "down" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if healthy else 503)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: Django could not read the request. A body above
    DATA_UPLOAD_MAX_MEMORY_SIZE is 413; a form not in UTF-8, too many fields and
    the like are 400. Under /api/ as problem details, elsewhere as a page."""
    status, detail = request_error(exception)
    if status == 413:
        discard_unread_body(request)
    if request.path_info.startswith("/api/"):
        return problem_response(request, status_code=status, detail=detail)
    if isinstance(exception, RequestDataTooBig):
        message = _("What you sent is too large (more than %(size)s kB). Shorten the text and send it again.") % {
            "size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024}
    else:
        message = _("Your browser sent something we could not read. Reload the page and send the form again.")
    return render(request, "request_error.html", {"status": status, "message": message}, status=status)


# --- the customer's public pages ---------------------------------------------------

# Session keys: the just-filed case's reference and tracking code, shown once;
# the id of the case the customer looked up with reference and tracking code.
FILED_SESSION_KEY = "public_filed_case"
TRACKED_SESSION_KEY = "public_tracked_case_id"
_FREE_TEXT_FIELDS = ("customer_name", "merchant_name", "description")


def _service_errors_on_form(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        field = "evidence" if field == "file" else field  # case_attach names its upload "file"
        form.add_error(field if field in form.fields else None, errors)


def _attach_evidence(case, uploads) -> None:
    """The customer's files, under the rules of every attachment (``case_attach``)."""
    for upload in uploads:
        case_attach(case=case, actor=CUSTOMER, upload=upload, content_type=upload.content_type)


def _page_language(request: HttpRequest) -> str:
    """The language the customer filed in (the page's): their e-mails and messages follow it."""
    return request.LANGUAGE_CODE if request.LANGUAGE_CODE in Language.values else Language.ZH_HANS


@never_cache
@require_http_methods(["GET", "POST"])
def complaint_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        data = request.POST.copy()
        for name in _FREE_TEXT_FIELDS:  # a card number typed in free text is never echoed back
            if name in data:
                data[name] = mask_card_numbers(data[name])
        form = ComplaintForm(data, request.FILES)
        if form.is_valid():
            fields = dict(form.cleaned_data)
            evidence = fields.pop("evidence")
            try:
                with transaction.atomic():  # the complaint and its evidence, or nothing (and not counted)
                    filed = case_file(actor=CUSTOMER, channel=Channel.WEB, preferred_language=_page_language(request),
                                      client_address=request.META.get("REMOTE_ADDR", ""),
                                      attach=lambda case: _attach_evidence(case, evidence), **fields)
            except FilingLimited as limited:
                form.add_error(None, _("Too many complaints were filed from this connection or for this e-mail address. "
                                       "Try again in %(minutes)s minutes, or call the bank.")
                               % {"minutes": math.ceil(limited.retry_after / 60)})
                response = render(request, "disputes/complaint_new.html", {"form": form}, status=429)
                response["Retry-After"] = str(limited.retry_after)
                return response
            except ValidationError as exc:
                _service_errors_on_form(form, exc)
            except CaseError as exc:
                form.add_error(None, str(exc.message))
            else:
                request.session[FILED_SESSION_KEY] = {
                    "reference": filed.case.reference, "tracking_code": filed.tracking_code,
                }
                return redirect("complaint-filed")
    else:
        form = ComplaintForm()
    return render(request, "disputes/complaint_new.html", {"form": form})


@never_cache
@require_GET
def complaint_filed(request: HttpRequest) -> HttpResponse:
    """Shows the tracking code once: it is popped from the session here."""
    filed = request.session.pop(FILED_SESSION_KEY, None)
    if not filed:
        return redirect("complaint-track")
    return render(request, "disputes/complaint_filed.html", filed)


def _tracked_case(request: HttpRequest):
    return selectors.case_for_customer_session(request.session.get(TRACKED_SESSION_KEY))


@never_cache
@require_http_methods(["GET", "POST"])
def complaint_track(request: HttpRequest) -> HttpResponse:
    """POST reference and tracking code (kept out of URLs and logs); on a match
    the case's id goes into the session and the case is shown (GET)."""
    if request.method == "POST":
        request.session.pop(TRACKED_SESSION_KEY, None)
        form = TrackForm(request.POST)
        if form.is_valid():
            try:
                case = tracking.case_track(**form.cleaned_data, client_address=request.META.get("REMOTE_ADDR", ""))
            except tracking.TrackingLookupLimited as limited:
                response = render(request, "disputes/complaint_track_limited.html",
                                  {"minutes": math.ceil(limited.retry_after / 60)}, status=429)
                response["Retry-After"] = str(limited.retry_after)
                return response
            if case is not None:
                request.session.cycle_key()
                request.session[TRACKED_SESSION_KEY] = case.pk
                return redirect("complaint-track")
            form.add_error(None, _("We found no complaint with this reference and tracking code. Check both and try again."))
        return render(request, "disputes/complaint_track.html", {"form": form})

    case = None if request.GET.get("another") else _tracked_case(request)
    if case is None:
        return render(request, "disputes/complaint_track.html", {"form": TrackForm()})
    allowed = allowed_transitions(case, CUSTOMER)
    return render(request, "disputes/complaint_case.html", {
        "case": case,
        "wording": CUSTOMER_WORDING[case.state],
        "records_say": customer_wording(case.verification),
        "notes": selectors.case_customer_notes(case=case),
        "reply_form": ReplyForm() if "customer_info_received" in allowed else None,
        "withdraw_form": WithdrawForm() if "withdraw" in allowed else None,
        "evidence": selectors.case_customer_evidence(case=case),
        "evidence_form": EvidenceForm() if case.is_open else None,
    })


def _show_errors(request: HttpRequest, exc: Exception) -> None:
    if isinstance(exc, CaseError):
        messages.error(request, str(exc.message))
    else:
        for text in exc.messages:
            messages.error(request, text)


@require_POST
def complaint_reply(request: HttpRequest) -> HttpResponse:
    """The customer answers a request for information (``case_customer_reply``)."""
    case = _tracked_case(request)
    if case is None:
        messages.error(request, _("Look up your complaint with its reference and tracking code first."))
        return redirect("complaint-track")
    form = ReplyForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, text)
        return redirect("complaint-track")
    try:
        case_customer_reply(case=case, actor=CUSTOMER, message=form.cleaned_data["message"])
    except (CaseError, ValidationError) as exc:
        _show_errors(request, exc)
    else:
        messages.success(request, _("Thank you. We have your answer and continue with your complaint."))
    return redirect("complaint-track")


@require_POST
def complaint_withdraw(request: HttpRequest) -> HttpResponse:
    case = _tracked_case(request)
    if case is None:
        messages.error(request, _("Look up your complaint with its reference and tracking code first."))
        return redirect("complaint-track")
    if not WithdrawForm(request.POST).is_valid():
        messages.error(request, _("Tick the box to confirm that you withdraw your complaint."))
        return redirect("complaint-track")
    try:
        case_transition(case=case, name="withdraw", actor=CUSTOMER)
    except (CaseError, ValidationError) as exc:
        _show_errors(request, exc)
    else:
        messages.success(request, _("Your complaint is withdrawn."))
    return redirect("complaint-track")


@require_POST
def complaint_evidence(request: HttpRequest) -> HttpResponse:
    """The customer adds evidence (a photo of the POS slip, a screenshot of the
    debit SMS) to the case they looked up: all the files or none."""
    case = _tracked_case(request)
    if case is None:
        messages.error(request, _("Look up your complaint with its reference and tracking code first."))
        return redirect("complaint-track")
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, text)
        return redirect("complaint-track")
    try:
        with transaction.atomic():
            _attach_evidence(case, form.cleaned_data["evidence"])
    except (CaseError, ValidationError) as exc:
        _show_errors(request, exc)
    else:
        messages.success(request, _("Thank you. We have your files and will look at them."))
    return redirect("complaint-track")
