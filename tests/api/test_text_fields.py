"""A text field of a body is a JSON string. A number there is refused (400,
naming the field, nothing stored) instead of being stored in Python's
spelling of it: 1e999 as "inf", 1.10 as "1.1", a phone 013800138000 without
its leading 0."""
import pytest

from disputes.models import Case, CaseEvent, CaseNote, WebhookEndpoint

from .conftest import CASES, assert_problem, case_body

pytestmark = pytest.mark.django_db

NOT_TEXT = "Give this as text in quotes, not as a number."

FILING_TEXT_FIELDS = ["customer.name", "customer.phone", "card_last4", "merchant_name", "merchant_id", "terminal_id",
                      "rrn", "stan", "auth_code", "description"]


def raw_json_body(field: str, literal: str) -> str:
    """The filing body with ``field`` set to a JSON literal as written (1e999 has no Python float that prints it)."""
    import json

    body = case_body()
    placeholder = "\u0000placeholder\u0000"
    if field.startswith("customer."):
        body["customer"][field.removeprefix("customer.")] = placeholder
    else:
        body[field] = placeholder
    return json.dumps(body).replace(json.dumps(placeholder), literal)


@pytest.mark.parametrize("field", FILING_TEXT_FIELDS)
@pytest.mark.parametrize("literal", ["1e999", "1.10", "13800138000", "0", "-5"])
def test_a_number_in_any_text_field_of_a_filing_is_refused_and_files_nothing(api, dave, field, literal):
    response = api(dave).post(CASES, raw_json_body(field, literal), content_type="application/json")

    body = assert_problem(response, 400)
    assert body["errors"][field] == [NOT_TEXT]
    assert not Case.objects.exists()


def test_the_same_filing_with_the_numbers_in_quotes_is_filed_as_written(api, dave):
    """The boundary: the same values as strings are text, and are kept as sent."""
    body = case_body(merchant_name="1e999", description="1.10", customer={"phone": "013800138000"})
    response = api(dave).post(CASES, body, format="json")

    assert response.status_code == 201, response.json()
    case = Case.objects.get()
    assert (case.merchant_name, case.description) == ("1e999", "1.10")


def test_true_in_a_text_field_is_still_refused(api, dave):
    body = assert_problem(api(dave).post(CASES, case_body(merchant_name=True), format="json"), 400)
    assert list(body["errors"]) == ["merchant_name"]
    assert not Case.objects.exists()


def test_the_refusal_is_in_chinese_for_a_chinese_client(api, dave):
    response = api(dave, language="zh-hans").post(CASES, raw_json_body("rrn", "100000000347"),
                                                  content_type="application/json")
    assert assert_problem(response, 400)["errors"]["rrn"] == ["此项请以带引号的文本提交，不能是数字。"]


def test_a_number_as_a_note_or_a_steps_note_or_reason_is_refused(api, alice, dave, filed):
    reference = filed["reference"]
    events = CaseEvent.objects.count()

    body = assert_problem(api(alice).post(f"{CASES}{reference}/notes/", '{"body": 1e999}',
                                          content_type="application/json"), 400)
    assert body["errors"] == {"body": [NOT_TEXT]}
    body = assert_problem(api(dave).post(f"{CASES}{reference}/transitions/withdraw/", '{"note": 42}',
                                         content_type="application/json"), 400)
    assert body["errors"] == {"note": [NOT_TEXT]}
    body = assert_problem(api(alice).post(f"{CASES}{reference}/transitions/reject/", '{"reason": 3.5}',
                                          content_type="application/json"), 400)
    assert body["errors"] == {"reason": [NOT_TEXT]}

    assert not CaseNote.objects.exists()
    assert CaseEvent.objects.count() == events
    assert Case.objects.get().state == filed["state"]


def test_a_number_as_a_webhooks_name_or_secret_is_refused(api, dave):
    for literal_body, field in [('{"name": 7, "url": "https://cc.example/hook"}', "name"),
                                ('{"name": "cc", "url": "https://cc.example/hook", "secret": 1234567890123456789}',
                                 "secret")]:
        body = assert_problem(api(dave).post("/api/v1/webhooks/", literal_body, content_type="application/json"), 400)
        assert body["errors"][field] == [NOT_TEXT]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("field", "value"), [
    ("customer.name", "张三\n李四"), ("customer.name", "\u202e三张"), ("customer.name", "\u200b"),
    ("merchant_name", "好又多\u2028超市"), ("merchant_name", "好又多\x07"),
])
def test_a_name_with_a_line_break_control_or_direction_character_is_refused(api, dave, field, value):
    """core/names.py, the model fields' rule: the API refuses what the public form refuses."""
    body = case_body(**({} if field.startswith("customer.") else {field: value}))
    if field.startswith("customer."):
        body["customer"]["name"] = value
    response = api(dave).post(CASES, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")

    problem = assert_problem(response, 400)
    assert problem["errors"][field][0] in ("Write it on one line, without control or text-direction characters.",
                                           "Write at least one visible character.")
    assert not Case.objects.exists()
