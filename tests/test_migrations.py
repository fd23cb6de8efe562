"""The models and their migrations agree: a model changed without its migration
(or a field's defaults changed, such as the amount's digits in core.money) fails here."""
import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_is_missing_its_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
