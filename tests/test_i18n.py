"""The zh-hans catalogue: complete, compiled, and actually served.

Chinese is the default language and English sits beside it; the source strings
are English. So every msgid in locale/zh_Hans must have a reviewed translation
(no empty msgstr, no fuzzy flag), the committed .mo must be the compiled .po,
and the services and pages must speak whichever language is active.
"""
from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

from disputes.workflow.filing import case_file
from disputes.workflow.actors import CUSTOMER
from disputes.models import Notification
from disputes.workflow.names import Channel, State
from tests.conftest import filing_data

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"

# Python %-placeholders, str.format fields and HTML tags must survive translation.
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sdifr]|%[sdifr]|\{[A-Za-z_][A-Za-z0-9_]*\}")
HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def msgstrs(self) -> list[str]:
        return [value for key, value in sorted(self.fields.items()) if key.startswith("msgstr")]


def read_po(path: Path) -> list[Entry]:
    """A small .po reader: enough for the catalogue makemessages writes (no msgctxt needed, but read)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    key = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, key = None, None
            continue
        if entry is None:
            entry = Entry(line=number)
            entries.append(entry)
        if line.startswith("#~"):
            entry.flags.add("obsolete")
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif match := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$', line):
            key = match.group(1)
            entry.fields[key] = ast.literal_eval(match.group(2))
        elif line.startswith('"') and key is not None:
            entry.fields[key] += ast.literal_eval(line)
        else:
            raise AssertionError(f"{path}:{number}: unreadable line {raw!r}")
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    entries = read_po(PO)
    assert entries and entries[0].msgid == "", "the .po starts with its header"
    return entries


@pytest.fixture(scope="module")
def messages(catalogue) -> list[Entry]:
    return [entry for entry in catalogue[1:] if "obsolete" not in entry.flags]


# --- the catalogue ---------------------------------------------------------------------


def test_the_header_says_simplified_chinese_with_one_plural_form(catalogue):
    header = catalogue[0]
    assert "fuzzy" not in header.flags
    assert "Language: zh_Hans\n" in header.fields["msgstr"]
    assert "Content-Type: text/plain; charset=UTF-8\n" in header.fields["msgstr"]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header.fields["msgstr"]


def test_every_message_is_translated_and_none_is_fuzzy(messages):
    assert len(messages) > 100, "makemessages found the project's strings"
    untranslated = [f"{PO.name}:{e.line} {e.msgid!r}" for e in messages if not all(e.msgstrs)]
    fuzzy = [f"{PO.name}:{e.line} {e.msgid!r}" for e in messages if "fuzzy" in e.flags]
    assert not untranslated, "untranslated:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy (check, then drop the flag):\n" + "\n".join(fuzzy)


def test_plural_messages_have_exactly_the_one_chinese_form(messages):
    plurals = [entry for entry in messages if "msgid_plural" in entry.fields]
    assert plurals
    for entry in plurals:
        assert sorted(key for key in entry.fields if key.startswith("msgstr")) == ["msgstr[0]"], entry.msgid


def test_translations_keep_every_placeholder_and_html_tag(messages):
    for entry in messages:
        source = entry.msgid + entry.fields.get("msgid_plural", "")
        for translated in entry.msgstrs:
            assert sorted(set(PLACEHOLDER.findall(translated))) == sorted(set(PLACEHOLDER.findall(source))), (
                f"{PO.name}:{entry.line} placeholders differ: {entry.msgid!r} -> {translated!r}"
            )
            assert HTML_TAG.findall(translated) == HTML_TAG.findall(entry.msgid), (
                f"{PO.name}:{entry.line} HTML differs: {entry.msgid!r} -> {translated!r}"
            )


def test_translations_are_chinese(messages):
    """Everything except codes that read the same in Chinese (SHA-256) has Chinese characters."""
    same_in_both = {"SHA-256"}
    not_chinese = [f"{PO.name}:{e.line} {e.msgid!r}" for e in messages
                   if e.msgid not in same_in_both and not all(HAN.search(text) for text in e.msgstrs)]
    assert not not_chinese, "\n".join(not_chinese)


def test_the_case_states_have_distinct_chinese_names():
    with translation.override("zh-hans"):
        labels = [str(label) for label in State.labels]
    assert len(set(labels)) == len(labels), labels
    assert all(HAN.search(label) for label in labels), labels


# --- the compiled catalogue ------------------------------------------------------------


def test_the_committed_mo_holds_exactly_the_po_translations(messages):
    """Compiled from this .po: a .po changed without compilemessages fails here."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.info().get("language") == "zh_Hans"
    for entry in messages:
        if "msgid_plural" in entry.fields:
            got = compiled.ngettext(entry.msgid, entry.fields["msgid_plural"], 1)
        else:
            got = compiled.gettext(entry.msgid)
        assert got == entry.msgstrs[0], f"{MO.name} is stale for {entry.msgid!r}: run compilemessages"
    # Nothing compiled that the .po no longer has (catalog holds the "" header too).
    assert len(compiled._catalog) == 1 + sum(len(entry.msgstrs) for entry in messages)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
def test_compiling_the_po_again_gives_the_committed_mo_byte_for_byte(tmp_path):
    # The command compilemessages and `make messages` run.
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(PO)], check=True, capture_output=True)
    assert fresh.read_bytes() == MO.read_bytes(), "run: python manage.py compilemessages --ignore=.venv"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext's xgettext is not installed")
def test_every_string_marked_for_translation_is_in_the_catalogue_and_translated(tmp_path):
    """makemessages over a copy of the tracked sources finds no new or changed message."""
    import sys

    root = Path(settings.BASE_DIR)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=root, capture_output=True, check=True).stdout
    for name in listed.decode().split("\0"):
        if name and name.endswith((".py", ".html", ".txt", ".po")) and (root / name).is_file():
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, target)
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--verbosity", "0"],
                   cwd=tmp_path, check=True, capture_output=True)
    fresh = [entry for entry in read_po(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")[1:]
             if "obsolete" not in entry.flags]
    missing = [entry.msgid for entry in fresh if not all(entry.msgstrs) or "fuzzy" in entry.flags]
    assert not missing, "run makemessages -l zh_Hans and translate:\n" + "\n".join(missing)


# --- served in the active language -------------------------------------------------------


def _amount_error(language: str) -> list[str]:
    with translation.override(language):
        with pytest.raises(ValidationError) as caught:
            case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(amount="-1"))
        return caught.value.message_dict["amount"]


def test_a_service_validation_error_is_in_chinese_under_zh_hans(db):
    assert _amount_error("zh-hans") == ["金额必须大于零。"]


def test_the_same_error_is_in_english_under_en(db):
    assert _amount_error("en") == ["The amount must be greater than zero."]


def test_slip_field_errors_follow_the_language(db):
    for language, expected in (("zh-hans", "终端编号应为8位字母或数字。"),
                               ("en", "A terminal id (终端编号) has exactly 8 letters or digits.")):
        with translation.override(language), pytest.raises(ValidationError) as caught:
            case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(terminal_id="4108"))
        assert caught.value.message_dict["terminal_id"] == [expected]


def test_the_filing_e_mail_is_written_in_the_customers_language(db):
    """A Chinese-speaking customer gets Chinese mail, whatever language the request was in."""
    with translation.override("en"):
        case = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data()).case

    mail = Notification.objects.get(case=case)
    assert case.customer.preferred_language == "zh-hans"
    assert mail.subject == f"[{case.reference}] 您的投诉已受理"
    assert "尊敬的张三：" in mail.body
    assert f"工单号：{case.reference}" in mail.body


def test_the_home_page_is_in_chinese_for_a_chinese_browser(client, db):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    for text in ("交易争议受理台", "显示支付失败，却被扣款了？", "提交投诉", "查询投诉", "员工登录"):
        assert text in html
    for text in ("File a complaint", "Track a complaint", "Staff login"):
        assert text not in html


def test_the_home_page_is_in_english_for_an_english_browser(client, db):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    for text in ("Dispute Desk", "Charged, but the payment failed?", "File a complaint", "Track a complaint",
                 "Staff login"):
        assert text in html
    for text in ("提交投诉", "查询投诉", "员工登录"):
        assert text not in html
