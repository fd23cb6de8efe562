"""/api/v1/webhooks/: the call center registers, lists, pings and removes its
own endpoints, trusts a private CA through a setting, and reads each
delivery's error, attempts and next try where it looks (docs/api.md, §10)."""
import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation

from core import outbound
from disputes.delivery import webhooks
from disputes.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel
from tests.at_once import at_once

from .conftest import assert_problem, filing_data_for_service
from .tls_support import make_private_ca
from .webhook_support import Receiver

WEBHOOKS = "/api/v1/webhooks/"
SECRET = "whsec-0123456789abcdef"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory):
    return make_private_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def https_receiver(private_ca):
    with Receiver(tls=private_ca.server_context()) as receiver:
        yield receiver


@pytest.fixture
def trusted(settings, private_ca):
    """The bank trusts the call center's private CA (README: DISPUTE_WEBHOOK_CA_BUNDLE)."""
    settings.DISPUTE_WEBHOOK_CA_BUNDLE = str(private_ca.ca_certificate)


def register(client, url: str, **extra):
    return client.post(WEBHOOKS, {"name": "call center", "url": url, **extra}, format="json")


# --- who may -------------------------------------------------------------------------


def test_the_call_center_registers_its_endpoint_and_gets_the_secret_once(api, dave):
    response = register(api(dave), "https://hooks.callcenter.example/dispute-desk", secret=SECRET)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["url"], body["active"], body["registered_by"], body["secret"]) == (
        "call center", "https://hooks.callcenter.example/dispute-desk", True, "dave", SECRET)
    assert response["Location"].endswith(f"{WEBHOOKS}{body['id']}/")
    listed = api(dave).get(WEBHOOKS).json()
    assert [endpoint["id"] for endpoint in listed] == [body["id"]]
    assert "secret" not in listed[0] and "secret" not in api(dave).get(f"{WEBHOOKS}{body['id']}/").json()


def test_a_secret_is_made_up_when_none_is_given_and_registering_again_changes_the_endpoint(api, dave):
    first = register(api(dave), "https://hooks.callcenter.example/dd").json()
    assert len(first["secret"]) >= 32

    again = register(api(dave), "https://hooks.callcenter.example/dd", name="renamed", secret=SECRET)

    assert again.status_code == 200
    assert (again.json()["id"], again.json()["name"], again.json()["secret"]) == (first["id"], "renamed", SECRET)
    assert WebhookEndpoint.objects.count() == 1


def test_an_admin_may_manage_endpoints_too(api, erin):
    assert register(api(erin), "https://hooks.callcenter.example/dd").status_code == 201
    assert api(erin).get(WEBHOOKS).status_code == 200


@pytest.mark.parametrize("who", ["alice", "bob", "mallory"])
def test_agents_supervisors_and_users_without_a_role_may_not(api, who, request, dave):
    endpoint = register(api(dave), "https://hooks.callcenter.example/dd").json()
    client = api(request.getfixturevalue(who))
    for response in (client.get(WEBHOOKS), register(client, "https://evil.example/h"),
                     client.post(f"{WEBHOOKS}{endpoint['id']}/ping/"), client.delete(f"{WEBHOOKS}{endpoint['id']}/"),
                     client.get(f"{WEBHOOKS}{endpoint['id']}/deliveries/")):
        assert_problem(response, 403)
    assert list(WebhookEndpoint.objects.values_list("url", "removed_at")) == [("https://hooks.callcenter.example/dd", None)]


def test_no_token_is_401(api):
    assert_problem(api().get(WEBHOOKS), 401)


def test_production_refuses_a_plain_http_endpoint_naming_the_field(api, dave, settings):
    settings.DEBUG = False
    body = assert_problem(register(api(dave), "http://hooks.callcenter.example/dd"), 400)
    assert "url" in body["errors"]
    assert not WebhookEndpoint.objects.exists()


# --- where to ------------------------------------------------------------------------------

ALLOWED = ["hooks.callcenter.example", ".cc.bank.example", "10.20.0.0/16"]
HOST_REFUSED = ("Webhooks are not sent to this host: it is not among those the bank allows. Ask the bank to add "
                "it.")
CREDENTIALS_REFUSED = ("The endpoint's address must not hold a user name or password: the signature proves each "
                       "delivery.")


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://hooks.callcenter.example/dd", True),
    ("https://HOOKS.CallCenter.example:8443/dd", True),
    ("https://cc.bank.example/dd", True),  # ".cc.bank.example": the domain itself
    ("https://a.b.cc.bank.example/dd", True),  # and its sub-domains
    ("https://10.20.0.0/dd", True),
    ("https://10.20.255.255/dd", True),
    ("https://10.21.0.0/dd", False),  # just past the network
    ("https://10.19.255.255/dd", False),  # just before it
    ("https://127.0.0.1:6379/dd", False),
    ("https://169.254.169.254/latest/meta-data", False),
    ("https://[::ffff:10.20.0.1]/dd", False),  # an IPv4 address written as IPv6: not the network
    ("https://evil.example/dd", False),
    ("https://hooks.callcenter.example.evil.example/dd", False),
    ("https://xcc.bank.example/dd", False),  # a name that only ends like the domain
    ("https://callcenter.example/dd", False),  # a host name allows that host, not its parent
    ("https://10.20.0.1.nip.io/dd", False),  # a name that spells an allowed address
])
def test_with_allowed_hosts_set_an_endpoint_elsewhere_is_refused_and_nothing_is_kept(api, dave, settings, url,
                                                                                      allowed):
    """A stolen call-center token must not make the worker knock at the bank's
    own hosts and read in the delivery log what answers there."""
    settings.DISPUTE_WEBHOOK_ALLOWED_HOSTS = ALLOWED
    with translation.override("en"):
        response = register(api(dave), url)
    if allowed:
        assert response.status_code == 201, response.json()
        assert WebhookEndpoint.objects.get().url == url
    else:
        assert assert_problem(response, 400)["errors"] == {"url": [HOST_REFUSED]}
        assert not WebhookEndpoint.objects.exists()


def test_without_allowed_hosts_any_host_may_be_registered(api, dave, settings):
    settings.DISPUTE_WEBHOOK_ALLOWED_HOSTS = []
    assert register(api(dave), "https://anywhere.example/dd").status_code == 201


@pytest.mark.parametrize("url", ["https://user:pass@hooks.callcenter.example/dd",
                                 "https://hooks.callcenter.example@evil.example/dd"])
@pytest.mark.parametrize("allowed", [[], ALLOWED])
def test_a_user_name_or_password_in_the_address_is_refused(api, dave, settings, url, allowed):
    """Stored and shown wherever the endpoint is; and ``allowed.example@evil``
    goes to evil."""
    settings.DISPUTE_WEBHOOK_ALLOWED_HOSTS = allowed
    with translation.override("en"):
        body = assert_problem(register(api(dave), url), 400)
    assert body["errors"] == {"url": [CREDENTIALS_REFUSED]}
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", ["https://[::1/dd", "https://hooks]callcenter.example/dd", "https://[zz]/dd"])
@pytest.mark.parametrize("allowed", [[], ALLOWED])
def test_a_url_python_cannot_split_is_refused_once_with_a_clear_message(api, dave, settings, url, allowed):
    """The command crashed on it (urlsplit's ValueError) instead of saying why."""
    settings.DISPUTE_WEBHOOK_ALLOWED_HOSTS = allowed
    with translation.override("en"):
        body = assert_problem(register(api(dave), url), 400)
        with pytest.raises(CommandError) as refused:
            call_command("webhook_endpoint", "register", "n", url)
    assert body["errors"] == {"url": ["Enter a valid URL."]}
    assert str(refused.value) == "url: Enter a valid URL."
    assert not WebhookEndpoint.objects.exists()


def test_the_send_time_check_takes_a_url_it_cannot_split_for_no_allowed_host():
    assert outbound.host_allowed("https://[::1/dd", ALLOWED) is False
    assert outbound.host_allowed("https://[::1/dd", []) is True  # any host: URLField's check refuses it


@pytest.mark.parametrize(("port", "ok"), [("65535", True), ("65536", False), ("99999", False), ("8o", False)])
def test_a_port_past_65535_is_not_a_url(api, dave, port, ok):
    with translation.override("en"):
        response = register(api(dave), f"https://hooks.callcenter.example:{port}/dd")
        with pytest.raises(CommandError) if not ok else contextlib.nullcontext() as refused:
            call_command("webhook_endpoint", "register", "n", f"https://hooks.callcenter.example:{port}/cli")
    if ok:
        assert response.status_code == 201
    else:
        assert assert_problem(response, 400)["errors"] == {"url": ["Enter a valid URL."]}
        assert str(refused.value) == "url: Enter a valid URL."  # said once
        assert not WebhookEndpoint.objects.exists()


def test_the_admin_and_the_command_meet_the_same_hosts(admin_client, settings):
    settings.DISPUTE_WEBHOOK_ALLOWED_HOSTS = ALLOWED
    with translation.override("en"), pytest.raises(CommandError, match=re.escape(HOST_REFUSED)):
        call_command("webhook_endpoint", "register", "n", "https://10.0.0.1/dd")
    response = admin_client.post("/admin/disputes/webhookendpoint/add/", {
        "name": "n", "url": "https://10.0.0.1/dd", "secret": SECRET, "active": "on",
    }, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and HOST_REFUSED in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_registered_before_its_host_was_taken_off_the_list_hears_nothing(
        api, dave, settings, https_receiver, trusted):
    endpoint = register(api(dave), https_receiver.url).json()  # 127.0.0.1, while any host may be
    settings.DISPUTE_WEBHOOK_ALLOWED_HOSTS = ALLOWED

    ping = api(dave).post(f"{WEBHOOKS}{endpoint['id']}/ping/").json()

    assert (ping["status"], ping["last_status_code"], ping["last_error"]) == ("failed", None, webhooks.HOST_NOT_ALLOWED)
    assert https_receiver.requests == []
    settings.DISPUTE_WEBHOOK_ALLOWED_HOSTS = [*ALLOWED, "127.0.0.1"]
    assert api(dave).post(f"{WEBHOOKS}{endpoint['id']}/ping/").json()["status"] == "delivered"
    assert len(https_receiver.requests) == 1


def test_an_allowed_hosts_setting_that_names_no_host_stops_the_start():
    root = Path(__file__).resolve().parents[2]
    for value, ok in (("hooks.callcenter.example, .cc.bank.example,10.20.0.0/16,fd00::/8,", True),
                      ("10.20.0.0/33", False), ("10.20.0.999", False), ("https://hooks.callcenter.example", False),
                      ("hooks.callcenter.example:443", False), ("*", False)):
        result = subprocess.run([sys.executable, "manage.py", "check"], cwd=root, capture_output=True, text=True, check=False,
                                env={**os.environ, "DISPUTE_WEBHOOK_ALLOWED_HOSTS": value}, timeout=120)
        assert (result.returncode == 0) == ok, (value, result.stderr[-2000:])
        if not ok:
            assert "DISPUTE_WEBHOOK_ALLOWED_HOSTS" in result.stderr


# --- how many ------------------------------------------------------------------------------

CAP_MESSAGE = "3 webhook endpoints are registered, the most allowed: remove one that is no longer used first."


def test_past_the_most_endpoints_allowed_a_new_one_is_refused_until_one_is_removed(api, dave, settings):
    """Every state change is a delivery to each endpoint: a client registering
    in a loop would multiply every change's work."""
    settings.DISPUTE_WEBHOOK_MAX_ENDPOINTS = 3
    first, *_rest = [register(api(dave), f"https://hooks.callcenter.example/{n}").json() for n in range(3)]
    body = assert_problem(register(api(dave), "https://hooks.callcenter.example/3"), 400)
    assert body["errors"] == {"non_field_errors": [CAP_MESSAGE]}
    assert WebhookEndpoint.objects.count() == 3
    assert register(api(dave), "https://hooks.callcenter.example/0", name="renamed").status_code == 200  # itself
    assert api(dave).delete(f"{WEBHOOKS}{first['id']}/").status_code == 204
    assert register(api(dave), "https://hooks.callcenter.example/3").status_code == 201
    assert WebhookEndpoint.objects.filter(removed_at=None).count() == 3


def test_the_admin_and_the_command_meet_the_same_limit(admin_client, settings):
    settings.DISPUTE_WEBHOOK_MAX_ENDPOINTS = 3
    for n in range(3):
        call_command("webhook_endpoint", "register", f"n{n}", f"https://hooks.callcenter.example/{n}")
    with translation.override("en"), pytest.raises(CommandError, match=f"^{re.escape(CAP_MESSAGE)}$"):
        call_command("webhook_endpoint", "register", "n3", "https://hooks.callcenter.example/3")
    response = admin_client.post("/admin/disputes/webhookendpoint/add/", {
        "name": "n3", "url": "https://hooks.callcenter.example/3", "secret": SECRET, "active": "on",
    }, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and CAP_MESSAGE in response.content.decode()
    assert WebhookEndpoint.objects.count() == 3


def _at_once(urls: list[str]) -> list[object]:
    return at_once([lambda index=index, url=url: webhooks.webhook_endpoint_register(name=f"n{index}", url=url)
                    for index, url in enumerate(urls)])


@pytest.mark.django_db(transaction=True)
def test_registrations_at_once_pass_the_limit_no_more_and_one_url_is_one_endpoint(settings):
    settings.DISPUTE_WEBHOOK_MAX_ENDPOINTS = 3
    results = _at_once([f"https://hooks.callcenter.example/{n}" for n in range(10)])
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 7, results
    assert {error.code for r in refused for error in r.error_dict[NON_FIELD_ERRORS]} == {"too_many_endpoints"}
    assert WebhookEndpoint.objects.count() == 3
    WebhookEndpoint.objects.all().delete()
    results = _at_once(["https://hooks.callcenter.example/same"] * 5)
    assert all(isinstance(r, WebhookEndpoint) for r in results), results
    assert WebhookEndpoint.objects.count() == 1


# --- ping, with a private CA -------------------------------------------------------------


def test_a_ping_to_a_receiver_whose_ca_is_not_trusted_fails_and_says_why_where_the_integrator_looks(
        api, dave, https_receiver):
    endpoint = register(api(dave), https_receiver.url, secret=SECRET).json()

    ping = api(dave).post(f"{WEBHOOKS}{endpoint['id']}/ping/")

    assert ping.status_code == 200
    assert (ping.json()["type"], ping.json()["status"], ping.json()["attempts"]) == ("ping", "failed", 1)
    assert "CERTIFICATE_VERIFY_FAILED" in ping.json()["last_error"]
    detail = api(dave).get(f"{WEBHOOKS}{endpoint['id']}/").json()
    assert "CERTIFICATE_VERIFY_FAILED" in detail["last_delivery"]["last_error"]
    assert detail["deliveries_failed"] == 1
    [logged] = api(dave).get(f"{WEBHOOKS}{endpoint['id']}/deliveries/").json()["results"]
    assert "CERTIFICATE_VERIFY_FAILED" in logged["attempt_log"][0]["error"]
    assert https_receiver.requests == []


def test_with_the_private_ca_trusted_by_the_setting_the_ping_arrives_signed(api, dave, https_receiver, trusted):
    endpoint = register(api(dave), https_receiver.url, secret=SECRET).json()

    ping = api(dave).post(f"{WEBHOOKS}{endpoint['id']}/ping/").json()

    assert (ping["status"], ping["last_status_code"], ping["last_error"], ping["case"]) == ("delivered", 200, "", None)
    [(headers, body)] = https_receiver.requests
    assert webhooks.verify(secret=SECRET, header=headers["Dispute-Desk-Signature"], body=body)
    assert json.loads(body)["type"] == "ping" and headers["Dispute-Desk-Event"] == "ping"
    assert headers["Dispute-Desk-Delivery"] == str(ping["id"])
    assert headers["Dispute-Desk-Attempt"] == f"{ping['id']}-1" == ping["attempt_log"][0]["id"]
    assert "Dispute-Desk-Replay" not in headers


def test_a_failed_ping_is_not_retried(api, dave, https_receiver):
    endpoint = register(api(dave), https_receiver.url).json()
    api(dave).post(f"{WEBHOOKS}{endpoint['id']}/ping/")
    assert not WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING).exists()
    assert webhooks.webhook_deliveries_due() == []


def test_pings_past_their_own_rate_are_429_and_not_sent(api, dave, settings, https_receiver, trusted):
    """A ping holds a web thread while it is sent: at the API's rate, to a
    receiver that never answers, pings would take every thread of the web."""
    settings.DISPUTE_WEBHOOK_PING_RATE = "2/min"
    endpoint = register(api(dave), https_receiver.url).json()
    pings = [api(dave).post(f"{WEBHOOKS}{endpoint['id']}/ping/") for _ in range(3)]
    assert [(ping.status_code, ping.json().get("status")) for ping in pings[:2]] == [(200, "delivered")] * 2
    assert_problem(pings[2], 429)
    assert 0 < int(pings[2]["Retry-After"]) <= 60
    assert len(https_receiver.requests) == 2
    assert api(dave).get(f"{WEBHOOKS}{endpoint['id']}/").status_code == 200  # the rest of the API still answers


# --- the delivery log ------------------------------------------------------------------------


def test_a_failing_delivery_shows_its_status_code_attempts_and_next_try(api, dave, trusted, private_ca, settings):
    with Receiver(fail_first=1, tls=private_ca.server_context()) as receiver:
        endpoint = register(api(dave), receiver.url).json()
        case = case_file(actor=dave, channel=Channel.API, **filing_data_for_service()).case
        delivery = WebhookDelivery.objects.get(event__case=case)
        webhooks.webhook_delivery_send(delivery_id=delivery.pk)

    detail = api(dave).get(f"{WEBHOOKS}{endpoint['id']}/").json()
    last = detail["last_delivery"]
    assert (last["type"], last["case"], last["status"], last["attempts"], last["last_status_code"]) == (
        "case.filed", case.reference, "pending", 1, 500)
    assert last["next_attempt_at"] and detail["deliveries_pending"] == 1
    assert last["body"]["case"] == case.reference
    pending = api(dave).get(f"{WEBHOOKS}{endpoint['id']}/deliveries/?status=pending").json()["results"]
    assert [d["id"] for d in pending] == [delivery.pk]
    assert api(dave).get(f"{WEBHOOKS}{endpoint['id']}/deliveries/?status=delivered").json()["results"] == []
    assert_problem(api(dave).get(f"{WEBHOOKS}{endpoint['id']}/deliveries/?status=lost"), 400)


def test_the_list_of_endpoints_takes_a_bounded_number_of_queries(api, dave, django_assert_max_num_queries):
    for n in range(5):
        register(api(dave), f"https://hooks{n}.callcenter.example/dd")
        case_file(actor=dave, channel=Channel.API, **filing_data_for_service())
    client = api(dave)
    with django_assert_max_num_queries(8):
        assert len(client.get(WEBHOOKS).json()) == 5


# --- replays are marked ------------------------------------------------------------------------


def test_an_admins_replay_is_a_new_attempt_marked_as_a_replay(api, dave, https_receiver, trusted):
    endpoint = register(api(dave), https_receiver.url, secret=SECRET).json()
    case = case_file(actor=dave, channel=Channel.API, **filing_data_for_service()).case
    delivery = WebhookDelivery.objects.get(event__case=case)
    webhooks.webhook_delivery_send(delivery_id=delivery.pk)

    webhooks.webhook_delivery_replay(delivery_ids=[delivery.pk])
    webhooks.webhook_delivery_send(delivery_id=delivery.pk)

    (first, first_body), (replay, replay_body) = https_receiver.requests
    assert first_body == replay_body and first["Dispute-Desk-Delivery"] == replay["Dispute-Desk-Delivery"]
    assert (first["Dispute-Desk-Attempt"], replay["Dispute-Desk-Attempt"]) == (f"{delivery.pk}-1", f"{delivery.pk}-2")
    assert "Dispute-Desk-Replay" not in first and replay["Dispute-Desk-Replay"] == "true"
    logged = api(dave).get(f"{WEBHOOKS}{endpoint['id']}/deliveries/").json()["results"][0]
    assert [(a["id"], a["replay"]) for a in logged["attempt_log"]] == [(f"{delivery.pk}-1", False),
                                                                      (f"{delivery.pk}-2", True)]
    assert logged["replays"] == 1


# --- removing ------------------------------------------------------------------------------------


def test_a_removed_endpoint_hears_nothing_more_and_its_pending_deliveries_are_given_up(api, dave):
    endpoint = register(api(dave), "https://hooks.callcenter.example/dd").json()
    case_file(actor=dave, channel=Channel.API, **filing_data_for_service())

    assert api(dave).delete(f"{WEBHOOKS}{endpoint['id']}/").status_code == 204

    assert api(dave).get(WEBHOOKS).json() == []
    assert_problem(api(dave).get(f"{WEBHOOKS}{endpoint['id']}/"), 404)
    assert_problem(api(dave).post(f"{WEBHOOKS}{endpoint['id']}/ping/"), 404)
    [given_up] = WebhookDelivery.objects.all()
    assert (given_up.status, given_up.last_error) == (WebhookDeliveryStatus.FAILED, webhooks.ENDPOINT_REMOVED)
    case_file(actor=dave, channel=Channel.API, **filing_data_for_service())
    assert WebhookDelivery.objects.count() == 1
    assert webhooks.webhook_delivery_replay(delivery_ids=[given_up.pk]) == 0


def test_an_unknown_endpoint_is_404(api, dave):
    assert_problem(api(dave).get(f"{WEBHOOKS}999999/"), 404)
    assert_problem(api(dave).get(f"{WEBHOOKS}nope/"), 404)


# --- the same from the command line ---------------------------------------------------------------


def test_the_command_registers_lists_pings_and_removes(capsys, https_receiver, trusted):
    call_command("webhook_endpoint", "register", "call center", https_receiver.url, "--secret", SECRET)
    endpoint = WebhookEndpoint.objects.get()
    assert capsys.readouterr().out.strip() == SECRET

    call_command("webhook_endpoint", "ping", str(endpoint.pk))
    assert "delivered" in capsys.readouterr().out
    call_command("webhook_endpoint", "list")
    assert https_receiver.url in capsys.readouterr().out

    call_command("webhook_endpoint", "remove", str(endpoint.pk))
    endpoint.refresh_from_db()
    assert endpoint.removed_at is not None and not endpoint.active


def test_a_ca_bundle_setting_that_names_no_pem_file_stops_the_start(tmp_path, private_ca):
    root = Path(__file__).resolve().parents[2]
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    for bundle, ok in ((tmp_path / "missing.pem", False), (not_pem, False), (private_ca.ca_certificate, True)):
        result = subprocess.run([sys.executable, "manage.py", "check"], cwd=root, capture_output=True, text=True, check=False,
                                env={**os.environ, "DISPUTE_WEBHOOK_CA_BUNDLE": str(bundle)}, timeout=120)
        assert (result.returncode == 0) == ok, result.stderr[-2000:]
        if not ok:
            assert "DISPUTE_WEBHOOK_CA_BUNDLE" in result.stderr
