"""The two checkers of a row (Python for SQLite and as reference, SQL for PostgreSQL) and their messages."""
from __future__ import annotations

import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import slip
from core.cardguard import contains_card_number
from core.money import CURRENCY_MINOR_UNITS, MAX_AMOUNT, parse_amount
from transactions.importing.rules import (
    AMOUNT_MAX_INTEGER_DIGITS,
    AMOUNT_SHAPE,
    CONTROL_CHARACTER,
    EARLIEST_YEAR,
    ID_SHAPE,
    TIME_WITH_OFFSET,
    TIME_WITHOUT_OFFSET,
    Column,
    FileFormat,
)

# --- the Python checker (SQLite, and the reference for the SQL one) -------------------------------

_id_shape = re.compile(ID_SHAPE)
_control = re.compile(CONTROL_CHARACTER)
_amount_shape = re.compile(AMOUNT_SHAPE)
_time_with_offset = re.compile(TIME_WITH_OFFSET)
_time_without_offset = re.compile(TIME_WITHOUT_OFFSET)


def _python_check(rules: tuple[Column, ...], fields: list[str], now: datetime) -> tuple[list[tuple[str, str, str]], dict]:
    """Check one row. Returns its problems [(column, code, detail)] and, when it
    has none, its values as the records table stores them."""
    problems: list[tuple[str, str, str]] = []
    values: dict[str, object] = {}
    row = dict(zip([column.name for column in rules], fields))
    currency = row.get("currency", "")
    for column, value in zip(rules, fields):
        name = column.name
        if value == "":
            if column.required:
                problems.append((name, "missing", ""))
            values[name] = ""
            continue
        if column.rule == "id":
            if len(value) > column.max_length or not _id_shape.fullmatch(value):
                problems.append((name, "id", ""))
        elif column.rule == "text":
            if len(value) > column.max_length or _control.search(value):
                problems.append((name, "text", ""))
            elif contains_card_number(value):
                problems.append((name, "card_number", ""))
        elif column.rule == "slip":
            try:
                column.validator(value)
            except ValidationError:
                problems.append((name, "slip", ""))
        elif column.rule == "currency":
            if value not in CURRENCY_MINOR_UNITS:
                problems.append((name, "currency", ""))
        elif column.rule == "choice":
            if value not in column.choices:
                problems.append((name, "choice", ""))
        elif column.rule == "amount":
            code = _python_amount_problem(value, currency)
            if code:
                problems.append((name, code, currency))
            elif currency in CURRENCY_MINOR_UNITS:
                value = parse_amount(value, currency)
        elif column.rule == "time":
            code, value = _python_time_problem(value, now)
            if code:
                problems.append((name, code, ""))
        values[name] = value
    return problems, values


def _python_amount_problem(value: str, currency: str) -> str:
    if not _amount_shape.fullmatch(value):
        return "invalid"
    whole, _point, fraction = value.partition(".")
    if len(whole.lstrip("0")) > AMOUNT_MAX_INTEGER_DIGITS:
        return "too_large"
    if currency not in CURRENCY_MINOR_UNITS:
        return ""  # the currency column says what is wrong
    try:
        parse_amount(value, currency)
    except ValidationError as error:
        return error.code
    if len(fraction) > CURRENCY_MINOR_UNITS[currency]:
        return "precision"
    return ""


def _python_time_problem(value: str, now: datetime) -> tuple[str, datetime | None]:
    if not _time_with_offset.fullmatch(value):
        return ("naive" if _time_without_offset.fullmatch(value) else "invalid"), None
    if int(value[:4]) < EARLIEST_YEAR:
        return "too_early", None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return "invalid", None  # a day the month does not have
    if moment < slip.EARLIEST_TRANSACTION_TIME:
        return "too_early", None
    if moment > now + slip.TRANSACTION_CLOCK_SKEW:
        return "in_future", None
    return "", moment


# --- the SQL checker (PostgreSQL) --------------------------------------------------------------

def _sql_check(rules: tuple[Column, ...]) -> tuple[str, list[object]]:
    """One SQL expression per column giving 'column:code' for a bad value, or NULL.

    The staging table holds the file's text as it is (NULL for an empty field);
    the CASE branches run in order, so a value is cast only once its shape is known good."""
    expressions, params = [], []
    currencies = list(CURRENCY_MINOR_UNITS)
    places = "CASE currency " + " ".join(
        f"WHEN '{code}' THEN {digits}" for code, digits in CURRENCY_MINOR_UNITS.items()) + " END"
    for column in rules:
        c, name = column.name, column.name
        branches = []
        if column.required:
            branches.append((f"{c} IS NULL OR {c} = ''", "missing"))
        present = f"{c} IS NOT NULL AND {c} <> '' AND "
        if column.rule == "id":
            branches.append((f"{present}(length({c}) > %s OR {c} !~ %s)", "id"))
            params += [column.max_length, f"^{ID_SHAPE}$"]
        elif column.rule == "text":
            branches.append((f"{present}(length({c}) > %s OR {c} ~ %s)", "text"))
            params += [column.max_length, CONTROL_CHARACTER]
        elif column.rule == "slip":
            branches.append((f"{present}(length({c}) <> %s OR {c} !~ %s)", "slip"))
            params += [column.length, f"^[{column.charset}]+$"]
        elif column.rule == "currency":
            branches.append((f"{present}{c} <> ALL(%s)", "currency"))
            params.append(currencies)
        elif column.rule == "choice":
            branches.append((f"{present}{c} <> ALL(%s)", "choice"))
            params.append(list(column.choices))
        elif column.rule == "amount":
            branches += [
                (f"{present}{c} !~ %s", "invalid"),
                (f"{present}length(ltrim(split_part({c}, '.', 1), '0')) > %s", "too_large"),
            ]
            params += [f"^{AMOUNT_SHAPE}$", AMOUNT_MAX_INTEGER_DIGITS]
            known_currency = "currency = ANY(%s) AND "
            branches += [
                (f"{present}{known_currency}{c}::numeric <= 0", "not_positive"),
                (f"{present}{known_currency}{c}::numeric > %s", "too_large"),
                (f"{present}{known_currency}length(split_part({c}, '.', 2)) > {places}", "precision"),
            ]
            params += [currencies, currencies, MAX_AMOUNT, currencies]
        elif column.rule == "time":
            year, month, day = f"substr({c}, 1, 4)::int", f"substr({c}, 6, 2)::int", f"substr({c}, 9, 2)::int"
            branches += [
                (f"{present}{c} ~ %s", "naive"),
                (f"{present}{c} !~ %s", "invalid"),
                (f"{present}{year} < %s", "too_early"),
                (f"{present}{day} > extract(day from make_date({year}, {month}, 1)"
                 f" + interval '1 month' - interval '1 day')", "invalid"),
                (f"{present}{c}::timestamptz < %s", "too_early"),
                (f"{present}{c}::timestamptz > %s", "in_future"),
            ]
            params += [f"^{TIME_WITHOUT_OFFSET}$", f"^{TIME_WITH_OFFSET}$", EARLIEST_YEAR,
                       slip.EARLIEST_TRANSACTION_TIME, "now"]  # "now" is replaced by the caller
        if not branches:
            continue
        cases = " ".join(f"WHEN {condition} THEN '{name}:{code}'" for condition, code in branches)
        expressions.append(f"CASE {cases} END")
    return "ARRAY[" + ", ".join(expressions) + "]", params


def _sql_certainly_good(rules: tuple[Column, ...]) -> tuple[str, list[object]]:
    """A cheaper SQL test, true only for rows in which ``_sql_check`` finds
    nothing wrong: the full check then runs only on the rows it is not true for
    (in a good file, none). Cheaper because it builds no list of problems,
    checks a POS slip's digit columns in one expression, and casts only once
    the shapes are known good (a nested CASE: SQL does not promise the order
    in which AND is evaluated). A test holds it to never pass a bad row."""
    shapes: list[str] = []
    guarded: list[str] = []
    casts: list[str] = []
    params: list[object] = []
    params_casts: list[object] = []
    by_charset: dict[str, list[str]] = {}
    for column in rules:
        c = column.name
        present = f"{c} IS NOT NULL AND {c} <> ''"
        if column.rule == "id":
            shapes.append(f"{present} AND length({c}) <= %s AND {c} ~ %s")
            params += [column.max_length, f"^{ID_SHAPE}$"]
        elif column.rule == "text":
            text = f"length({c}) <= %s AND {c} !~ %s"
            shapes.append(f"({present} AND {text})" if column.required else f"({c} IS NULL OR ({text}))")
            params += [column.max_length, CONTROL_CHARACTER]
        elif column.rule == "slip":
            shapes.append(f"{present} AND length({c}) = %s" if column.required
                          else f"({c} IS NULL OR length({c}) = %s)")
            params.append(column.length)
            by_charset.setdefault(column.charset, []).append(c)
        elif column.rule in ("currency", "choice"):
            shapes.append(f"{c} = ANY(%s)")
            params.append(list(CURRENCY_MINOR_UNITS) if column.rule == "currency" else list(column.choices))
        elif column.rule == "amount":
            places = "CASE currency " + " ".join(
                f"WHEN '{code}' THEN {digits}" for code, digits in CURRENCY_MINOR_UNITS.items()) + " END"
            shapes.append(f"{c} ~ %s AND length(ltrim(split_part({c}, '.', 1), '0')) <= %s"
                          f" AND length(split_part({c}, '.', 2)) <= {places}")
            params += [f"^{AMOUNT_SHAPE}$", AMOUNT_MAX_INTEGER_DIGITS]
            casts.append(f"CAST({c} AS numeric) > 0")
        elif column.rule == "time":
            shapes.append(f"{c} ~ %s AND substr({c}, 1, 4) >= %s")
            params += [f"^{TIME_WITH_OFFSET}$", f"{EARLIEST_YEAR:04d}"]
            guarded.append(f"(substr({c}, 9, 2) <= '28' OR substr({c}, 9, 2)::int <= extract(day from"
                           f" make_date(substr({c}, 1, 4)::int, substr({c}, 6, 2)::int, 1)"
                           f" + interval '1 month' - interval '1 day'))")
            casts.append(f"CAST({c} AS timestamptz) BETWEEN %s AND %s")
            params_casts += [slip.EARLIEST_TRANSACTION_TIME, "now"]
    for charset, names in by_charset.items():
        shapes.append(f"concat({', '.join(names)}) ~ %s")
        params.append(f"^[{charset}]*$")
    sql = (f"CASE WHEN {' AND '.join(shapes)} THEN"
           f" CASE WHEN {' AND '.join(guarded) or 'true'} THEN {' AND '.join(casts) or 'true'} ELSE false END"
           f" ELSE false END")
    return sql, [*params, *params_casts]


# --- messages ------------------------------------------------------------------------------

def _message(fmt: FileFormat, field: str, code: str, detail: str) -> str:
    """What a problem code means, in the active language. Values from the file
    are never echoed (a card number typed into a wrong column stays out of reports)."""
    column = next((c for c in fmt.rules if c.name == field), None)
    if code == "missing":
        return _("This field is required.")
    if code == "id" and column is not None:
        return _("An id has 1 to %(max)s characters: letters, digits or punctuation, no spaces.") % {
            "max": column.max_length}
    if code == "text" and column is not None:
        return _("At most %(max)s characters, without line breaks or other control characters.") % {
            "max": column.max_length}
    if code == "card_number":
        return _("A full card number is not allowed here: the records never hold one (give at most its last 4 "
                 "digits, in card_last4).")
    if code == "slip" and column is not None:
        return str(column.validator.message)
    if code == "currency":
        return _("Not a currency code this bank handles (ISO 4217, such as CNY).")
    if code == "choice" and column is not None:
        return _("One of: %(choices)s.") % {"choices": ", ".join(column.choices)}
    if field == "amount" or column is not None and column.rule == "amount":
        if code == "invalid":
            return _("Write the amount as a plain decimal number, such as 128.50.")
        if code == "precision":
            return _("%(currency)s amounts have at most %(places)s decimal places.") % {
                "currency": detail, "places": CURRENCY_MINOR_UNITS.get(detail, 2)}
        if code == "not_positive":
            return _("The amount must be greater than zero.")
        if code == "too_large":
            return _("The amount is too large.")
    if column is not None and column.rule == "time":
        if code == "naive":
            return _("The time has no UTC offset: add one, such as +08:00.")
        if code == "invalid":
            return _("Write the time in ISO 8601 with its offset, such as 2026-11-20T14:03:00+08:00.")
        if code == "too_early":
            return _("The time is before 2000-01-01.")
        if code == "in_future":
            return _("The time is in the future.")
    if code == "duplicate":
        return _("The same id as line %(line)s: each id appears once in a file.") % {"line": detail}
    if code == "conflict":
        return _("This id was imported before with other values.")
    if code == "header":
        return _("The first line must be exactly: %(header)s") % {"header": detail}
    if code == "empty":
        return _("The file is empty: its first line must be the header %(header)s") % {"header": detail}
    if code.startswith("fields:"):
        found = int(code.split(":", 1)[1])
        return ngettext("%(expected)s fields expected, %(found)s found.",
                        "%(expected)s fields expected, %(found)s found.", found) % {
            "expected": len(fmt.rules), "found": found}
    if code == "encoding":
        return _("Not UTF-8 text.")
    if code == "nul":
        return _("A NUL character: not text.")
    if code == "csv":
        return _("Not readable as CSV (an unclosed quote, or a field too long).")
    return code
