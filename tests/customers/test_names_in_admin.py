"""The admin refuses a customer's name that is not one line of visible text, as
the public form and the API do (core/names.py is the model field's rule)."""
import re

import pytest
from django.contrib.auth.models import User

from customers.models import Customer

pytestmark = pytest.mark.django_db


def change_form_data(page: str) -> dict:
    """Every input of the admin's change form as the browser would send it back."""
    data = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="submit"' in tag or ('type="checkbox"' in tag and "checked" not in tag):
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = value.group(1) if value else ""
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(2))
        data[select.group(1)] = chosen.group(1) if chosen else ""
    return data


@pytest.mark.parametrize("name", ["张三\r\n李四", "\u202e三张", "\u200b"])
def test_the_admin_refuses_a_name_that_is_not_one_line_of_visible_text(client, case, name):
    client.force_login(User.objects.create_superuser("root", "root@bank.example", "correct horse battery staple"))
    customer = case.customer
    url = f"/admin/customers/customer/{customer.pk}/change/"
    data = change_form_data(client.get(url).content.decode())
    assert data["name"] == customer.name

    response = client.post(url, {**data, "name": name}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"name"}
    assert Customer.objects.get(pk=customer.pk).name == customer.name
    # The same form with the name as it was saves: the refusal was the name's alone.
    assert client.post(url, data).status_code == 302
