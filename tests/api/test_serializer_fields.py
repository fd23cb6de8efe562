"""The API's serializers build their fields once per class and give each
instance its own copy (``disputes.api.serializers.copy_fields``, issue 12):
every instance must still have fields of its own, bound to it, with the
context of its own root, and the class's fields must never be bound."""
import threading

import pytest

from disputes.api.serializers import CaseCreatedSerializer, CaseCreateSerializer, CustomerSerializer


@pytest.mark.parametrize("serializer_class", [CaseCreatedSerializer, CaseCreateSerializer, CustomerSerializer])
def test_each_instance_has_its_own_bound_fields(serializer_class):
    first, second = serializer_class(context={"who": 1}), serializer_class(context={"who": 2})
    assert first.fields.keys() == second.fields.keys() and first.fields
    for name, field in first.fields.items():
        other = second.fields[name]
        assert field is not other
        assert (field.parent, field.field_name, other.parent) == (first, name, second)
        assert (field.context, other.context) == ({"who": 1}, {"who": 2})
    templates = vars(serializer_class).get("_fields_built") or serializer_class._declared_fields
    assert all(field.parent is None and field.field_name is None for field in templates.values())


def test_a_nested_serializers_fields_are_its_own_and_reach_the_roots_context():
    first, second = CaseCreatedSerializer(context={"who": 1}), CaseCreatedSerializer(context={"who": 2})
    for nested in ("customer", "card"):
        mine, theirs = first.fields[nested], second.fields[nested]
        assert mine is not theirs and mine.parent is first
        for name, field in mine.fields.items():
            assert field is not theirs.fields[name] and field.parent is mine and field.context == {"who": 1}


def test_a_list_fields_child_is_its_own_and_bound_to_it():
    """A list's child is bound to its list when the list is made: each copy of
    the list needs its own child, or every instance would share one."""
    from disputes.api.serializers import VerificationSerializer

    first, second = VerificationSerializer(), VerificationSerializer()
    mine, theirs = first.fields["ledger_entries"], second.fields["ledger_entries"]
    assert mine is not theirs and mine.child is not theirs.child
    assert mine.child.parent is mine and mine.child.root is first


def test_instances_in_many_threads_validate_their_own_data():
    """gunicorn's threads make serializers at once: each sees the errors of its
    own data (an odd thread's amount is wrong, an even one's is right)."""
    errors: dict[int, dict] = {}
    start = threading.Barrier(40)

    def validate(index: int) -> None:
        serializer = CaseCreateSerializer(data={"amount": "12.5x" if index % 2 else "12.50"})
        start.wait()
        serializer.is_valid()
        errors[index] = serializer.errors

    threads = [threading.Thread(target=validate, args=(index,)) for index in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 40
    for index, found in errors.items():
        assert ("amount" in found) == bool(index % 2), (index, found)
        assert "transaction_at" in found and "customer" in found
