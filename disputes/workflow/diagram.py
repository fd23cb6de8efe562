"""The case workflow as a Mermaid ``stateDiagram-v2``, read off the state machine.

The diagram in docs/architecture.md (and docs/workflow.mmd) is generated from
``disputes.models.Case``'s django-fsm transitions, never drawn by hand:
``python manage.py workflow_diagram --write`` rewrites it, and a test fails when
the committed copy differs from what the model declares now.

The output is deterministic: states in the order of ``State``, edges in the
order of ``TRANSITION_NAMES`` (the "Transitions" table of docs/design.md), then by source and target
state.
"""
from __future__ import annotations

from dataclasses import dataclass

from django_fsm import ANY_OTHER_STATE, ANY_STATE, GET_STATE, RETURN_VALUE

from disputes.models import TRANSITION_NAMES, Case
from disputes.workflow.names import ARCHIVED_STATES, ENDED_STATES, OPEN_STATES, State

START_MARKER = "<!-- workflow:start -->"
END_MARKER = "<!-- workflow:end -->"

# How a transition whose target is computed at run time chooses it; the edge
# to each state it may reach carries this next to the transition's name.
DYNAMIC_TARGET_NOTES = {
    "customer_info_received": "back to the stage it left",
    "decline_refund": "back to the stage it came from",
    "approve_refund": "each approval; to refunded once paid",
}
DEFAULT_DYNAMIC_NOTE = "target chosen at run time"

STATE_GROUPS = (("open", OPEN_STATES), ("ended", ENDED_STATES), ("archived", ARCHIVED_STATES))
GROUP_STYLES = {
    "open": "fill:#e8f1fb,stroke:#1f6feb",
    "ended": "fill:#eaf7ea,stroke:#2da44e",
    "archived": "fill:#f0f0f0,stroke:#6e7781",
}


@dataclass(frozen=True, order=True)
class Edge:
    source: str
    target: str
    label: str


def _state_value(state) -> str:
    return str(getattr(state, "value", state))


def _sources(source) -> list[str]:
    """The concrete states a transition's source stands for."""
    if source == ANY_STATE:
        return [s.value for s in State]
    if isinstance(source, (list, tuple, set, frozenset)):
        return [_state_value(s) for s in source]
    return [_state_value(source)]


def workflow_edges(model: type = Case, field_name: str = "state") -> list[Edge]:
    """Every (source, target, label) of the model's state machine, in a fixed order.

    A transition from several states gives one edge per state; one whose target
    is computed at run time (``GET_STATE``/``RETURN_VALUE``) gives one edge per
    state it may reach, labelled with how it chooses."""
    field = model._meta.get_field(field_name)
    state_order = {s.value: i for i, s in enumerate(State)}
    name_order = {name: i for i, name in enumerate(TRANSITION_NAMES)}
    keyed: set[tuple[int, int, int, Edge]] = set()
    for transition in field.get_all_transitions(model):
        name = transition.name
        if transition.source == ANY_OTHER_STATE:
            sources = [s.value for s in State]
        else:
            sources = _sources(transition.source)
        if isinstance(transition.target, (GET_STATE, RETURN_VALUE)):
            targets = [_state_value(s) for s in transition.target.allowed_states]
            label = f"{name} ({DYNAMIC_TARGET_NOTES.get(name, DEFAULT_DYNAMIC_NOTE)})"
        else:
            targets = [_state_value(transition.target)]
            label = name
        for source in sources:
            for target in targets:
                if transition.source == ANY_OTHER_STATE and source == target:
                    continue
                key = (
                    name_order.get(name, len(name_order)),
                    state_order.get(source, len(state_order)),
                    state_order.get(target, len(state_order)),
                )
                keyed.add((*key, Edge(source=source, target=target, label=label)))
    return [edge for *_key, edge in sorted(keyed)]


def render_mermaid(model: type = Case, field_name: str = "state") -> str:
    """The workflow as Mermaid ``stateDiagram-v2`` source, ending with a newline."""
    initial = _state_value(model._meta.get_field(field_name).default)
    lines = ["stateDiagram-v2", f"    [*] --> {initial}"]
    for edge in workflow_edges(model, field_name):
        lines.append(f"    {edge.source} --> {edge.target}: {edge.label}")
    for group, _states in STATE_GROUPS:
        lines.append(f"    classDef {group} {GROUP_STYLES[group]}")
    for group, states in STATE_GROUPS:
        lines.append(f"    class {','.join(s.value for s in states)} {group}")
    return "\n".join(lines) + "\n"


def markdown_block(diagram: str) -> str:
    """The block kept between the markers in docs/architecture.md."""
    return f"{START_MARKER}\n```mermaid\n{diagram}```\n{END_MARKER}"


def replace_block(document: str, diagram: str) -> str:
    """``document`` with the text between the workflow markers replaced by ``diagram``.

    Raises ValueError when the markers are missing or out of order."""
    start = document.find(START_MARKER)
    end = document.find(END_MARKER)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"the document has no {START_MARKER} … {END_MARKER} block")
    return document[:start] + markdown_block(diagram) + document[end + len(END_MARKER):]


def extract_block(document: str) -> str:
    """The diagram currently between the markers (inside the mermaid fence)."""
    start = document.find(START_MARKER)
    end = document.find(END_MARKER)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"the document has no {START_MARKER} … {END_MARKER} block")
    inner = document[start + len(START_MARKER):end].strip("\n")
    fence_open, fence_close = "```mermaid\n", "```"
    if not (inner.startswith(fence_open) and inner.endswith(fence_close)):
        raise ValueError("the workflow block is not a ```mermaid fence")
    return inner[len(fence_open):-len(fence_close)]
