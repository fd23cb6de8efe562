"""The daily reconciliation (beat): the orphan debits as of now with the default
grace, cases only when DISPUTE_RECONCILE_OPEN_CASES is on, at the configured
time of day in the configured zone."""
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.utils import timezone

from config.celery import app as celery_app
from customers.models import Customer
from disputes.models import Case
from disputes.verification.opening import reconcile_daily
from transactions.models import LedgerEntry, ReconciliationRun

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def orphan(db):
    Customer.objects.create(name="Li Lei", phone="+8613900139000", verified=True, bank_ref="C00001")
    now = timezone.now()
    for entry_id, age in (("OLD", timedelta(hours=25)), ("NEW", timedelta(hours=23))):
        LedgerEntry.objects.create(entry_id=entry_id, customer_ref="C00001", card_last4="1234",
                                   amount=Decimal("99.00"), currency="CNY", posted_at=now - age, kind="debit")
    return now


def test_it_records_the_orphans_older_than_the_grace_and_opens_no_case_by_default(orphan):
    assert django_settings.DISPUTE_RECONCILE_OPEN_CASES is False
    summary = reconcile_daily()
    run = ReconciliationRun.objects.get()
    assert (run.orphans, run.grace) == (1, timedelta(hours=24))
    assert timezone.now() - run.as_of < timedelta(minutes=1)
    assert not Case.objects.exists()
    assert summary == f"reconciliation {run.pk}: 1 orphans"


def test_with_the_setting_on_it_opens_the_cases_once(orphan, settings):
    settings.DISPUTE_RECONCILE_OPEN_CASES = True
    assert reconcile_daily().endswith("cases 1 opened, 0 already open, 0 failed")
    assert reconcile_daily().endswith("cases 0 opened, 1 already open, 0 failed")
    assert list(Case.objects.values_list("ledger_entry__entry_id", flat=True)) == ["OLD"]


def test_beat_sends_it_daily_at_half_past_two_in_the_configured_zone():
    entry = django_settings.CELERY_BEAT_SCHEDULE["reconcile-daily"]
    assert entry["schedule"] == crontab(hour=2, minute=30)
    assert django_settings.CELERY_TIMEZONE == django_settings.TIME_ZONE == "Asia/Shanghai"
    celery_app.loader.import_default_modules()
    assert entry["task"] in celery_app.tasks


def _settings_with(**env: str) -> subprocess.CompletedProcess:
    code = ("from config import settings; s = settings.CELERY_BEAT_SCHEDULE['reconcile-daily']['schedule'];"
            "print(sorted(s.hour), sorted(s.minute))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_the_time_of_day_is_configurable():
    done = _settings_with(DISPUTE_RECONCILE_AT="07:05")
    assert done.stdout.strip() == "[7] [5]", done.stderr


@pytest.mark.parametrize("value", ["24:00", "7", "07:60", "noon"])
def test_a_time_that_is_not_a_time_of_day_is_refused_at_start(value):
    done = _settings_with(DISPUTE_RECONCILE_AT=value)
    assert done.returncode != 0
    assert "DISPUTE_RECONCILE_AT must be a time of day, HH:MM" in done.stderr
