"""The workflow diagram in the docs is generated from the state machine and kept in step."""
import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from disputes.workflow.diagram import END_MARKER, START_MARKER, extract_block, render_mermaid
from disputes.workflow.names import ENDED_STATES, OPEN_STATES, WORKING_STAGES

DOCS = Path(settings.BASE_DIR) / "docs"
WORKING = {s.value for s in WORKING_STAGES}

# The "Transitions" table of docs/design.md: transition -> (from, to). The contract API clients rely on.
DESIGN_TRANSITIONS = {
    "start_verification": ({"submitted"}, {"verifying"}),
    "request_customer_info": (WORKING, {"awaiting_customer"}),
    "customer_info_received": ({"awaiting_customer"}, WORKING),
    "confirm_debit": ({"verifying"}, {"merchant_contact"}),
    "reversal_found": ({"verifying"}, {"resolved"}),
    "merchant_refunded": ({"merchant_contact"}, {"resolved"}),
    "escalate_to_processor": ({"merchant_contact"}, {"processor_inquiry"}),
    "back_to_merchant": ({"processor_inquiry"}, {"merchant_contact"}),
    "propose_refund": (WORKING, {"refund_pending"}),
    # each approval keeps the case refund_pending; the system's step once the refund is paid ends it
    "approve_refund": ({"refund_pending"}, {"refund_pending", "refunded"}),
    "decline_refund": ({"refund_pending"}, WORKING),
    "reject": (WORKING, {"rejected"}),
    "withdraw": ({s.value for s in OPEN_STATES}, {"withdrawn"}),
    "close": ({s.value for s in ENDED_STATES}, {"closed"}),
    "reopen": ({"rejected", "closed"}, {"verifying"}),
}

EDGE = re.compile(r"^\s+(\w+) --> (\w+): (\w+)(?: \((.+)\))?$")


def _edges(diagram: str) -> list[tuple[str, str, str, str | None]]:
    return [m.groups() for line in diagram.splitlines() if (m := EDGE.match(line))]


# How the table's cells name a group of states instead of listing them.
DESIGN_PHRASES = {
    "any open state": {s.value for s in OPEN_STATES},
    "the stage it left": WORKING,
    "the stage it came from": WORKING,
}


def _design_table() -> dict[str, tuple[set[str], set[str]]]:
    """transition -> (from, to), read from the "Transitions" table of docs/design.md."""
    text = (DOCS / "design.md").read_text(encoding="utf-8")
    section = text.split("\n### Transitions\n", 1)[1].split("\n#", 1)[0]

    def states(cell: str) -> set[str]:
        cell = cell.strip()
        return DESIGN_PHRASES.get(cell) or {name.strip() for name in cell.split(",")}

    table = {}
    for line in section.splitlines():
        if m := re.match(r"^\| `(\w+)` \|([^|]+)\|([^|]+)\|", line):
            table[m[1]] = (states(m[2]), states(m[3]))
    return table


def test_every_transition_of_the_design_appears_in_the_diagram():
    names = {name for _s, _t, name, _note in _edges(render_mermaid())}
    assert set(DESIGN_TRANSITIONS) <= names
    assert set(_design_table()) == set(DESIGN_TRANSITIONS), "docs/design.md's table and this test disagree"


def test_the_design_s_table_gives_each_transition_the_states_the_code_has():
    assert _design_table() == DESIGN_TRANSITIONS


def test_each_transition_goes_exactly_from_and_to_the_states_of_the_design():
    edges = _edges(render_mermaid())
    for name, (sources, targets) in DESIGN_TRANSITIONS.items():
        drawn = {(s, t) for s, t, n, _note in edges if n == name}
        assert drawn == {(s, t) for s in sources for t in targets}, name
    assert {n for _s, _t, n, _note in edges} == set(DESIGN_TRANSITIONS)


def test_dynamic_targets_are_labelled_with_how_they_are_chosen():
    edges = _edges(render_mermaid())
    notes = {(n, note) for _s, _t, n, note in edges if note}
    assert notes == {
        ("customer_info_received", "back to the stage it left"),
        ("decline_refund", "back to the stage it came from"),
        ("approve_refund", "each approval; to refunded once paid"),
    }


def test_the_diagram_starts_at_submitted_and_is_stable():
    diagram = render_mermaid()
    assert diagram.startswith("stateDiagram-v2\n    [*] --> submitted\n")
    assert render_mermaid() == diagram


def test_the_command_prints_the_diagram():
    out = StringIO()
    call_command("workflow_diagram", stdout=out)
    assert out.getvalue() == render_mermaid()


def test_the_command_rewrites_only_the_marked_block(tmp_path):
    page = f"# Title\n\nbefore\n\n{START_MARKER}\n```mermaid\nstateDiagram-v2\n    old --> stale\n```\n{END_MARKER}\n\nafter\n"
    (tmp_path / "architecture.md").write_text(page, encoding="utf-8")

    call_command("workflow_diagram", "--write", "--docs-dir", str(tmp_path), stdout=StringIO())

    rewritten = (tmp_path / "architecture.md").read_text(encoding="utf-8")
    assert rewritten.startswith("# Title\n\nbefore\n\n") and rewritten.endswith(f"{END_MARKER}\n\nafter\n")
    assert extract_block(rewritten) == render_mermaid()
    assert (tmp_path / "workflow.mmd").read_text(encoding="utf-8") == render_mermaid()
    out = StringIO()
    call_command("workflow_diagram", "--write", "--docs-dir", str(tmp_path), stdout=out)
    assert "up to date" in out.getvalue()
    assert (tmp_path / "architecture.md").read_text(encoding="utf-8") == rewritten


def test_the_command_refuses_a_page_without_markers(tmp_path):
    (tmp_path / "architecture.md").write_text("# no block here\n", encoding="utf-8")
    with pytest.raises(CommandError, match="workflow:start"):
        call_command("workflow_diagram", "--write", "--docs-dir", str(tmp_path), stdout=StringIO())
