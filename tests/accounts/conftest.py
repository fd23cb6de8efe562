"""Staff accounts: the cast of tests/conftest.py at the admin, plus a superuser.

erin (admin role) manages users; bob (supervisor) and alice (agent) are the
accounts she would like to change; root is a superuser.
"""
import pytest
from django import forms
from django.contrib.auth.forms import ReadOnlyPasswordHashField
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone, translation


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def staff(user: User) -> User:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return User.objects.get(pk=user.pk)


@pytest.fixture(autouse=True)
def english(settings):
    """Pages in English (messages are matched as text) unless a test asks for Chinese."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def root(db):
    return User.objects.create_superuser(username="root", password="correct horse battery staple",
                                         email="root@bank.example")


@pytest.fixture
def erin_client(client, erin):
    client.force_login(staff(erin))
    return client


@pytest.fixture
def root_client(client, root):
    client.force_login(root)
    return client


def change_form_data(client, user: User) -> dict:
    """What the user's change page would post back untouched, as a browser would."""
    response = client.get(admin_url(User, "change", user.pk))
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, ReadOnlyPasswordHashField) or field.disabled:
            continue
        if isinstance(field, forms.SplitDateTimeField):
            if value:
                day, time = field.widget.decompress(value)
                data[f"{name}_0"], data[f"{name}_1"] = day.isoformat(), time.strftime("%H:%M:%S")
        elif isinstance(field, forms.ModelMultipleChoiceField):
            data[name] = [str(pk) for pk in value]
        elif isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else value
    return data


def post_change(client, user: User, **changes):
    """Open the user's change page, change some fields (None: unticked), save."""
    data = change_form_data(client, user)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(admin_url(User, "change", user.pk), data, follow=True)


def crafted_form_data(user: User, **changes) -> dict:
    """Every field Django's stock user page posts, as one might post it by hand
    to a page that shows them read-only (None: unticked)."""
    joined = timezone.localtime(user.date_joined)
    data = {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name,
        "email": user.email, "date_joined_0": joined.date().isoformat(), "date_joined_1": joined.strftime("%H:%M:%S"),
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "user_permissions": [str(pk) for pk in user.user_permissions.values_list("pk", flat=True)],
        **{flag: "on" for flag in ("is_active", "is_staff", "is_superuser") if getattr(user, flag)},
    }
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def post_crafted(client, user: User, **changes):
    return client.post(admin_url(User, "change", user.pk), crafted_form_data(user, **changes), follow=True)
