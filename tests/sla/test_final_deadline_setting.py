"""DISPUTE_FINAL_DEADLINE_DAYS gives the overall deadline of new SLA settings:
the row migration 0004 seeds, or the one created on first use. Once the row
exists, the admin's value decides."""
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection

from disputes.sla import clocks as sla
from disputes.models import SlaSettings
from tests.test_settings_deploy import manage, production_env

from .conftest import at

pytestmark = pytest.mark.django_db



@pytest.mark.parametrize(("days", "due"), [(10, "2026-12-03 10:00"), (15, "2026-12-08 10:00"), (20, "2026-12-13 10:00")])
def test_a_new_installation_takes_a_new_case_s_overall_deadline_from_the_setting(clock, file_case, settings, days, due):
    settings.DISPUTE_FINAL_DEADLINE_DAYS = days
    SlaSettings.objects.all().delete()  # as on a database whose settings were never created

    case = file_case()

    assert case.final_due_at == at(due)
    assert SlaSettings.objects.get().final_days == days


def test_the_migration_seeds_the_sla_settings_with_the_setting(settings):
    settings.DISPUTE_FINAL_DEADLINE_DAYS = 21
    SlaSettings.objects.all().delete()
    migration = import_module("disputes.migrations.0004_sla_clocks_policies_alerts")

    with connection.schema_editor() as schema_editor:
        migration.seed_policies(apps, schema_editor)

    row = SlaSettings.objects.get()
    assert (row.final_days, row.first_extension_to_days) == (21, 30)


def test_once_the_sla_settings_exist_the_admin_s_value_wins(clock, file_case, settings):
    SlaSettings.objects.update_or_create(pk=1, defaults={"final_days": 12})
    settings.DISPUTE_FINAL_DEADLINE_DAYS = 20

    case = file_case()

    assert case.final_due_at == at("2026-12-05 10:00")  # 12 days, not 20


def test_a_deadline_longer_than_the_first_extension_is_never_shortened_by_it(clock, file_case, settings):
    settings.DISPUTE_FINAL_DEADLINE_DAYS = 45
    SlaSettings.objects.all().delete()

    case = file_case()

    assert SlaSettings.objects.get().first_extension_to_days == 45
    assert case.final_due_at == at("2027-01-07 10:00")
    assert sla.extended_final_due_at(case, extension=1) == case.final_due_at


def test_a_deadline_below_one_day_stops_the_start(tmp_path):
    result = manage("check", env=production_env(tmp_path, DISPUTE_FINAL_DEADLINE_DAYS="0"))

    assert result.returncode != 0
    assert "DISPUTE_FINAL_DEADLINE_DAYS must be at least 1." in result.stderr
