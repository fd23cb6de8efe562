"""Admin for cases and what hangs off them: a window on the data, not a back door.

The admin never writes a case itself. ``Case.state`` is a protected FSM field
and every other case field changes only with an event, so the case page is
read-only; its workflow buttons post to ``<pk>/transition/``, which calls
``workflow.transitions.case_transition`` like the staff pages and the API do, and the
"assign" actions call ``workflow.casework.case_assign``. Events, notes, refunds,
attachments and notifications are read-only here: the audit trail must stay
whole, and their writes belong to the services. Cases are never added (filing
is ``workflow.filing.case_file``) nor deleted (that would cut the audit trail).
"""
from disputes.admin import case, casefile  # noqa: F401 - each module registers its admins
from disputes.delivery import admin as delivery_admin  # noqa: F401 - webhook endpoints and the delivery log
from disputes.sla import admin as sla_admin  # noqa: F401 - SLA settings, stage policies, calendar overrides
