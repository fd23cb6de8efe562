"""The whole database and every answer, not one field at a time: a card number
typed, with any separators, into every field of a filing through the API (with
the card number as the Idempotency-Key too), into a note and a rejection reason,
is found neither in any row of any of our tables nor in any answer."""
import json
import uuid

import pytest
from django.apps import apps
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from rest_framework.test import APIClient

from disputes.workflow.casework import case_add_note
from disputes.workflow.steps import case_transition
from disputes.models import Case
from tests.api.conftest import case_body

from .test_cardguard import _survives, as_name, card_numbers, written_as_typed

pytestmark = pytest.mark.django_db

OUR_APPS = {"customers", "merchants", "transactions", "disputes", "accounts"}


def _every_stored_string() -> list[str]:
    values = []
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        for row in model.objects.values_list(*[f.attname for f in model._meta.concrete_fields]):
            values += [json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
                       for value in row if value is not None]
    return values


@st.composite
def typed_card_numbers(draw):
    pan = draw(card_numbers())
    return pan, draw(written_as_typed(pan))


@given(sample=typed_card_numbers())
@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_card_number_is_stored_or_answered_whatever_field_it_is_typed_into(sample, dave, alice):
    pan, typed = sample
    typed = typed.replace("\x00", "")  # NUL is refused outright (a test of its own), not masked
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(dave)
    answers = []

    def post(body, key):
        response = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        answers.append(response.content.decode())
        return response

    # Every field at once: refused (phone, e-mail, slip fields…), and the refusal echoes nothing.
    everything = case_body(customer={"name": typed[:100], "phone": typed, "email": f"{typed}@example.com"},
                           card_last4=typed, merchant_name=typed[:200], merchant_id=typed, terminal_id=typed,
                           rrn=typed, stan=typed, auth_code=typed, currency=typed, amount=typed, description=typed)
    key = f"{uuid.uuid4().hex[:8]}{typed}"  # hypothesis's examples share one database: a fresh key each
    assert post(everything, key).status_code == 400
    assert post(everything, key).status_code == 400  # the replay of the stored refusal

    # The free-text fields alone are accepted, masked.
    accepted = post(case_body(customer={"name": as_name(typed, 100)}, merchant_name=as_name(typed, 200),
                              description=f"卡号 {typed}"), f"{uuid.uuid4().hex[:8]}-{pan}")
    assert accepted.status_code == 201, accepted.content
    case = Case.objects.get(reference=accepted.json()["reference"])
    case_add_note(case=case, actor=alice, body=typed)
    case_transition(case=case, name="start_verification", actor=alice, note=typed)
    case_transition(case=case, name="reject", actor=alice, reason=typed)
    answers.append(client.get(f"/api/v1/cases/{case.reference}/events/").content.decode())

    for text in answers + _every_stored_string():
        assert not _survives(pan, text), text
