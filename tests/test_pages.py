"""The public home page and the staff login page, in both languages, and logging in."""
import pytest
from django.test import Client

PASSWORD = "correct horse battery staple"  # tests/conftest.py's cast


@pytest.mark.parametrize("path", ["/", "/accounts/login/"])
@pytest.mark.parametrize("accept_language, language", [("zh-CN,zh;q=0.9", "zh-hans"), ("en-US,en;q=0.9", "en")])
def test_public_pages_answer_in_the_browsers_language(client, db, path, accept_language, language):
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=accept_language)

    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert f'<html lang="{language}">' in response.content.decode()


def test_chinese_is_the_default_language(client, db):
    response = client.get("/")

    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"


def test_the_home_page_leads_to_the_complaint_form_tracking_and_staff_login(client, db):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    for href in ('href="/complaints/new/"', 'href="/complaints/track/"', 'href="/accounts/login/"'):
        assert href in html


def test_the_login_page_has_a_csrf_protected_form(client, db):
    html = client.get("/accounts/login/").content.decode()

    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="username"' in html and 'name="password"' in html


def test_a_staff_user_logs_in_and_is_sent_to_the_queue(alice):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_the_login_keeps_the_page_asked_for(alice, client):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/admin/"})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_a_wrong_password_is_refused_on_the_page(alice, client):
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"},
                           HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert 'role="alert"' in response.content.decode()


def test_a_login_without_the_csrf_token_is_refused(alice):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
