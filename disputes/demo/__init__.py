"""Demo data for a fresh install (``python manage.py seed_demo``).

Staff users of each role, merchants with their POS terminals, payment
processors, issuer ledger and acquirer settlement rows, and fifty cases spread
over every state of the workflow.

Every case is made by the workflow services (``disputes.workflow``) with the actor the workflow expects
at each step (an agent, a second supervisor to approve, the customer replying,
the system user for automatic steps), so the demo audit trail is one the
application could have written itself. The data is drawn from
``random.Random(seed)``: the same seed gives the same merchants, customers,
amounts and paths (references and tracking codes stay random: the service
makes them).

Demo customers have no e-mail address, so seeding queues no e-mail; Celery
tasks run in-process while seeding, so nothing waits on, or piles up in, a
broker.
"""
from disputes.demo.builder import DemoDataOutcome, demo_data_create, demo_data_exists
from disputes.demo.data import DEFAULT_SEED, DEMO_TAG, MERCHANTS
from disputes.demo.users import DEMO_USERS, demo_users_ensure

__all__ = ["DEFAULT_SEED", "DEMO_TAG", "DEMO_USERS", "MERCHANTS", "DemoDataOutcome", "demo_data_create",
           "demo_data_exists", "demo_users_ensure"]
