"""A name typed by a person is one line of visible text (core/names.py): the
oracle here is a list of characters written out by hand, not the validator's
own categories."""
import pytest
from django.core.exceptions import ValidationError

from core.names import validate_name_line

REFUSED_CHARACTERS = [
    "\n", "\r", "\t", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b",  # C0, DEL, C1 (NEL, CSI)
    "\u2028", "\u2029",  # line and paragraph separators
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069",  # isolates
    "\u200e", "\u200f", "\u061c",  # direction marks
]


@pytest.mark.parametrize("character", REFUSED_CHARACTERS, ids=[f"U+{ord(c):04X}" for c in REFUSED_CHARACTERS])
def test_a_control_or_direction_character_anywhere_is_refused(character):
    for name in (f"{character}Zhang", f"Zh{character}ang", f"Zhang{character}"):
        with pytest.raises(ValidationError) as refused:
            validate_name_line(name)
        assert refused.value.code == "control_character"


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200d\ufeff", "\u00a0", "\u3000 \u2009", "\u00ad"])
def test_a_name_of_invisible_characters_only_is_refused(name):
    with pytest.raises(ValidationError) as refused:
        validate_name_line(name)
    assert refused.value.code == "invisible"


@pytest.mark.parametrize("name", [
    "张三", "阿卜杜·热合曼", "O'Brien-Smith", "Zoë Ångström", "María José", "محمد", "ישראל", "x",
    "李\u200d四",  # a zero-width joiner inside a visible name (emoji, Indic scripts) stays allowed
    "全家便利店 人民广场店", "7-Eleven (No. 12)", "😀 Café",
])
def test_names_of_every_script_and_their_punctuation_are_accepted(name):
    validate_name_line(name)
