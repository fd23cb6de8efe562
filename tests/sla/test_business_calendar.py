"""The business calendar: working hours, weekends, Chinese holidays, 调休 make-up
days, admin overrides, and a time zone other than Shanghai."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from disputes.sla import clocks as sla
from disputes.sla.calendar import BusinessCalendar, public_holidays
from disputes.models import CalendarOverride, SlaSettings

from .conftest import at

H = timedelta(hours=1)
CN = BusinessCalendar()  # 09:00–17:30 Asia/Shanghai, Chinese holidays


def test_hours_within_one_working_day_are_plain_hours():
    assert CN.add(at("2026-11-23 10:00"), 2 * H) == at("2026-11-23 12:00")
    assert CN.between(at("2026-11-23 10:00"), at("2026-11-23 12:00")) == 2 * H


def test_hours_that_cross_a_weekend_skip_saturday_and_sunday():
    # Friday 16:30 + 2 business hours: 1 h on Friday, 1 h on Monday morning.
    assert CN.add(at("2026-11-20 16:30"), 2 * H) == at("2026-11-23 10:00")
    assert CN.between(at("2026-11-20 16:30"), at("2026-11-23 10:00")) == 2 * H
    # The weekend itself holds no business time.
    assert CN.between(at("2026-11-21 08:00"), at("2026-11-22 20:00")) == timedelta(0)


def test_time_outside_working_hours_starts_counting_at_the_next_opening():
    assert CN.add(at("2026-11-23 07:00"), H) == at("2026-11-23 10:00")
    assert CN.add(at("2026-11-23 19:00"), H) == at("2026-11-24 10:00")
    # Work that ends exactly at closing time ends there, not the next morning.
    assert CN.add(at("2026-11-23 16:30"), H) == at("2026-11-23 17:30")


def test_a_business_day_is_one_ordinary_working_day_of_business_time():
    assert CN.working_day == timedelta(hours=8, minutes=30)
    assert CN.add_working_days(at("2026-11-23 10:00"), 1) == at("2026-11-24 10:00")
    assert CN.add_working_days(at("2026-11-27 10:00"), 3) == at("2026-12-02 10:00")  # Fri + 3 → Wed


def test_national_day_holidays_are_days_off():
    for day in range(1, 8):
        assert not CN.is_working_day(date(2026, 10, day)), day
    # Wednesday 30 September 16:30 + 2 h: 1 h before the holiday, 1 h on Thursday 8 October.
    assert CN.add(at("2026-09-30 16:30"), 2 * H) == at("2026-10-08 10:00")


def test_weekend_days_swapped_for_holidays_are_working_days():
    """调休: the holidays package names the swapped day off "Day off (substituted from MM/DD/YYYY)"."""
    days_off, make_up = public_holidays("CN", 2026)
    assert date(2026, 1, 2) in days_off  # "Day off (substituted from 01/04/2026)"
    assert {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
            date(2026, 9, 20), date(2026, 10, 10)} <= make_up
    assert CN.is_working_day(date(2026, 1, 4))  # a Sunday
    assert CN.is_working_day(date(2026, 10, 10))  # a Saturday
    assert not CN.is_working_day(date(2026, 10, 11))  # the Sunday after it stays off
    # Friday 9 October 16:30 + 2 h ends on the make-up Saturday at 10:00.
    assert CN.add(at("2026-10-09 16:30"), 2 * H) == at("2026-10-10 10:00")


def test_spring_festival_spans_holidays_and_make_up_days():
    # Friday 13 Feb 17:00 + 1 h: 30 min on Friday, 30 min on the make-up Saturday 14 Feb.
    assert CN.add(at("2026-02-13 17:00"), H) == at("2026-02-14 09:30")
    # Saturday 14 Feb 17:00 + 1 h: 15–23 Feb off (holidays, Sunday), Tuesday 24 Feb 09:30.
    assert CN.add(at("2026-02-14 17:00"), H) == at("2026-02-24 09:30")


def test_the_year_boundary_is_crossed():
    # Wednesday 31 Dec 2025 17:00 + 1 h: 1 Jan 2026 holiday, 2 Jan day off → Sunday 4 Jan (make-up) 09:30.
    assert CN.add(at("2025-12-31 17:00"), H) == at("2026-01-04 09:30")


@pytest.mark.django_db
def test_admin_overrides_win_over_weekends_and_the_holiday_list():
    CalendarOverride.objects.create(day=date(2026, 11, 24), is_working_day=False, note="Bank's own day off")
    CalendarOverride.objects.create(day=date(2026, 11, 29), is_working_day=True, note="Sunday made working")
    CalendarOverride.objects.create(day=date(2026, 10, 10), is_working_day=False, note="No make-up day after all")
    CalendarOverride.objects.create(day=date(2026, 10, 5), is_working_day=True, note="Holiday worked")
    calendar = sla.business_calendar()
    assert not calendar.is_working_day(date(2026, 11, 24))
    assert calendar.is_working_day(date(2026, 11, 29))
    assert not calendar.is_working_day(date(2026, 10, 10))
    assert calendar.is_working_day(date(2026, 10, 5))
    # Monday 23 Nov 17:00 + 1 h: Tuesday is off → Wednesday 09:30.
    assert calendar.add(at("2026-11-23 17:00"), H) == at("2026-11-25 09:30")


@pytest.mark.django_db
def test_an_edited_calendar_applies_at_once():
    assert sla.business_calendar().is_working_day(date(2026, 11, 24))
    CalendarOverride.objects.create(day=date(2026, 11, 24), is_working_day=False)
    assert not sla.business_calendar().is_working_day(date(2026, 11, 24))


def test_a_time_zone_other_than_shanghai():
    new_york = ZoneInfo("America/New_York")
    ny = BusinessCalendar(time_zone="America/New_York", work_starts=time(9), work_ends=time(17), country="US")
    friday_4pm = datetime(2026, 11, 20, 16, 0, tzinfo=new_york)  # 21:00 UTC, Saturday 05:00 in Shanghai
    assert ny.add(friday_4pm, 2 * H) == datetime(2026, 11, 23, 10, 0, tzinfo=new_york)
    # The same instant on the Shanghai calendar: Saturday morning, so Monday 11:00 Shanghai.
    assert CN.add(friday_4pm, 2 * H) == at("2026-11-23 11:00")
    # US Thanksgiving (Thursday 26 Nov) is a day off there, not in China.
    wednesday = datetime(2026, 11, 25, 16, 30, tzinfo=new_york)
    assert ny.add(wednesday, H) == datetime(2026, 11, 27, 9, 30, tzinfo=new_york)
    assert CN.is_working_day(date(2026, 11, 26))


def test_a_daylight_saving_change_counts_real_hours():
    # London moves its clocks from 01:00 to 02:00 on Sunday 29 March 2026; made a working day here.
    london = BusinessCalendar(time_zone="Europe/London", work_starts=time(0, 30), work_ends=time(3, 30), country="",
                              overrides_loader=lambda year: {date(2026, 3, 29): True})
    assert london.working_hours(date(2026, 3, 29)) == 2 * H
    assert london.working_hours(date(2026, 3, 30)) == 3 * H
    start = datetime(2026, 3, 29, 0, 30, tzinfo=ZoneInfo("Europe/London"))
    assert london.add(start, 2 * H) == datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/London"))


@pytest.mark.django_db
def test_working_hours_and_time_zone_come_from_the_settings():
    SlaSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Europe/Berlin", "work_starts": time(8),
                                                          "work_ends": time(16), "holiday_country": "DE"})
    calendar = sla.business_calendar()
    berlin = ZoneInfo("Europe/Berlin")
    assert calendar.working_day == timedelta(hours=8)
    assert not calendar.is_working_day(date(2026, 12, 25))  # Christmas in Germany
    assert calendar.add(datetime(2026, 12, 24, 15, tzinfo=berlin), 2 * H) == datetime(2026, 12, 28, 9, tzinfo=berlin)


@pytest.mark.django_db
def test_no_holiday_country_in_the_settings_means_weekends_only():
    SlaSettings.objects.update_or_create(pk=1, defaults={"holiday_country": ""})
    calendar = sla.business_calendar()
    assert calendar.is_working_day(date(2026, 10, 1))  # a Thursday: National Day only with a country
    assert not calendar.is_working_day(date(2026, 10, 3))  # a Saturday
    assert not calendar.is_working_day(date(2026, 9, 20))  # an ordinary Sunday


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 1)).map(
    lambda d: d.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
)


@hsettings(max_examples=200, deadline=None)
@given(start=instants, minutes=st.integers(min_value=0, max_value=60 * 8 * 40))
def test_between_undoes_add(start, minutes):
    amount = timedelta(minutes=minutes)
    end = CN.add(start, amount)
    assert end >= start
    assert CN.between(start, end) == amount


def test_negative_amounts_and_naive_times_are_refused():
    with pytest.raises(ValueError, match="^Business time to add must not be negative.$"):
        CN.add(at("2026-11-23 10:00"), -H)
    with pytest.raises(ValueError, match="^Business time needs an aware datetime.$"):
        CN.add(datetime(2026, 11, 23, 10), H)
    with pytest.raises(ValueError, match="^A working day must end after it starts.$"):
        BusinessCalendar(work_starts=time(18), work_ends=time(9))
    with pytest.raises(ValueError, match="^A working day must end after it starts.$"):
        BusinessCalendar(work_starts=time(9), work_ends=time(9))


def test_a_calendar_without_any_working_day_is_reported_as_broken():
    never = BusinessCalendar(country="", overrides_loader=lambda year: {
        date(year, 1, 1) + timedelta(days=n): False for n in range(366)})
    with pytest.raises(ValueError, match="^No working day found: check the calendar overrides.$"):
        never.add(at("2026-11-23 10:00"), H)


# --- edge cases ---------------------------------------------------------------------------

PLAIN = BusinessCalendar(country="")  # Monday to Friday, 09:00–17:30 Shanghai, no public holidays


def test_a_day_off_has_no_working_hours():
    assert CN.working_hours(date(2026, 11, 23)) == timedelta(hours=8, minutes=30)  # a Monday
    assert CN.working_hours(date(2026, 11, 21)) == timedelta(0)  # a Saturday
    assert CN.working_hours(date(2026, 10, 1)) == timedelta(0)  # National Day, a Thursday


def test_between_an_end_before_the_start_is_negative_business_time():
    assert CN.between(at("2026-11-23 12:00"), at("2026-11-23 10:00")) == -2 * H
    assert CN.between(at("2026-11-23 10:00"), at("2026-11-20 16:30")) == -2 * H  # back over a weekend
    assert CN.between(at("2026-11-23 10:00"), at("2026-11-23 10:00")) == timedelta(0)


def test_between_counts_a_span_of_many_months():
    # Monday 5 January to Monday 27 July 2026: 29 weeks, 145 working days with no holidays.
    assert PLAIN.between(at("2026-01-05 09:00"), at("2026-07-27 09:00")) == 145 * PLAIN.working_day
    # The same span on the Chinese calendar leaves out the public holidays and adds the make-up days.
    assert CN.between(at("2026-01-05 09:00"), at("2026-07-27 09:00")) < 145 * CN.working_day


def test_between_counts_an_instant_outside_working_hours_from_the_next_opening():
    assert CN.between(at("2026-11-23 07:00"), at("2026-11-23 20:00")) == timedelta(hours=8, minutes=30)
    assert CN.between(at("2026-11-23 18:00"), at("2026-11-24 08:00")) == timedelta(0)


def test_between_counts_in_the_calendars_time_zone_whatever_zone_the_instants_are_in():
    utc = ZoneInfo("UTC")
    # 02:00 to 04:00 UTC is 10:00 to 12:00 in Shanghai.
    assert CN.between(datetime(2026, 11, 23, 2, tzinfo=utc), at("2026-11-23 12:00")) == 2 * H
    assert CN.between(at("2026-11-23 10:00"), datetime(2026, 11, 23, 4, tzinfo=utc)) == 2 * H


def test_between_walks_thirty_years_at_most():
    start = at("2000-01-03 09:00")
    longest = start + timedelta(days=3 * 366 * 10)
    assert PLAIN.between(start, longest) > timedelta(0)
    with pytest.raises(ValueError, match="^Business time over more than thirty years is not supported.$"):
        PLAIN.between(start, longest + timedelta(days=1))


def test_a_fresh_calendar_works_the_make_up_days_and_rests_on_the_holidays():
    """Each question asked of a calendar nothing has been asked before (no cached day)."""
    for day, working in ((date(2026, 2, 14), True), (date(2026, 10, 10), True), (date(2026, 9, 20), True),
                         (date(2026, 10, 1), False), (date(2026, 10, 7), False), (date(2026, 10, 8), True),
                         (date(2026, 10, 11), False)):
        assert BusinessCalendar().is_working_day(day) is working, day


def test_a_deadline_keeps_the_zone_of_the_time_it_was_counted_from():
    start = at("2026-11-23 10:00")  # Asia/Shanghai
    due = CN.add(start, 2 * H)
    assert due.isoformat() == "2026-11-23T12:00:00+08:00"
    utc_start = start.astimezone(ZoneInfo("UTC"))
    assert CN.add(utc_start, 2 * H).isoformat() == "2026-11-23T04:00:00+00:00"
