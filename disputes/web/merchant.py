"""The merchant's answer page, ``/merchant/respond/<signed token>/`` (no account).

Thin: ``workflow.merchant`` reads the link and records the answer. The page
shows the disputed payment as the merchant knows it (amount, time, terminal,
slip numbers, the card masked to its last 4 digits), nothing about who the
customer is. A link that cannot be used is answered with a page saying why,
in the visitor's language, and changes nothing; too many such links from one
address are answered 429 for a while, as on the tracking page.
"""
from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from disputes.web.forms import MerchantAnswerForm
from disputes.workflow.errors import CaseError
from disputes.workflow.merchant import MerchantLinkLimited, MerchantLinkRefused, merchant_answer, merchant_link_open


def _private(response: HttpResponse) -> HttpResponse:
    """The token is in the URL: never indexed, never cached (``never_cache``), and
    never sent to another site as a referrer: the site's policy is ``same-origin``
    (SECURE_REFERRER_POLICY), kept here on purpose, as ``no-referrer`` would make
    the browser post the form with ``Origin: null``, which CSRF refuses."""
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _refused(request: HttpRequest, exc: CaseError) -> HttpResponse:
    if isinstance(exc, MerchantLinkLimited):
        response = render(request, "disputes/merchant_refused.html", {
            "reason": "limited", "message": exc.message, "minutes": math.ceil(exc.retry_after / 60)}, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return _private(response)
    return _private(render(request, "disputes/merchant_refused.html",
                           {"reason": exc.reason, "message": exc.message}, status=exc.status))


@never_cache
@require_http_methods(["GET", "POST"])
def merchant_respond(request: HttpRequest, token: str) -> HttpResponse:
    address = request.META.get("REMOTE_ADDR", "")
    try:
        contact = merchant_link_open(token=token, client_address=address)
    except (MerchantLinkRefused, MerchantLinkLimited) as exc:
        return _refused(request, exc)
    form = MerchantAnswerForm()
    status = 200
    if request.method == "POST":
        form = MerchantAnswerForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                merchant_answer(token=token, answer=data["answer"], comment=data["comment"],
                                uploads=data["evidence"], client_address=address)
            except (MerchantLinkRefused, MerchantLinkLimited) as exc:
                return _refused(request, exc)
            except ValidationError as exc:
                for field, errors in (exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}).items():
                    field = "evidence" if field == "file" else field
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return _private(render(request, "disputes/merchant_answered.html",
                                       {"case": contact.case, "answer": data["answer"]}))
        status = 400
    return _private(render(request, "disputes/merchant_respond.html",
                           {"contact": contact, "case": contact.case, "form": form}, status=status))
