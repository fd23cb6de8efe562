"""A person opens the site in a browser and logs in to the staff side."""
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_home_page_leads_a_staff_member_to_a_working_login(live_server, page, alice):
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text().strip()
    page.locator("a[href='/accounts/login/']").first.click()
    page.wait_for_url("**/accounts/login/**")

    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "wrong password")
    with page.expect_navigation():  # the refusal is a new page: wait for it, not for the old one
        page.locator("button[type=submit]").click()
    assert page.locator("[role=alert]").is_visible()

    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery staple")
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    assert "/accounts/login/" not in page.url
    assert page.get_by_text("alice").first.is_visible()


def test_the_language_switch_shows_the_site_in_english(live_server, page):
    page.goto(live_server.url + "/")
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "File a complaint" in page.content()
