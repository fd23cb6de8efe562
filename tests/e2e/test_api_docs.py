"""The API's interactive docs (Swagger UI) render in a browser with nothing
fetched from outside this server: they work offline."""
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_shows_every_operation_from_local_assets_only(live_server, page):
    outside: list[str] = []

    def guard(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(live_server.url + "/api/v1/docs/")
    page.wait_for_selector("#operations-cases-createCase")
    for operation_id in ("listCases", "getCase", "listCaseEvents", "addCaseNote", "transitionCase"):
        assert page.locator(f"#operations-cases-{operation_id}").count() == 1, operation_id
    assert page.locator("#operations-look-ups-lookupCustomers").count() == 1
    assert outside == []
