"""Reads: what a user may see, shaped for the page or API that shows it.

Views and the API never query ``Case`` directly; they start from here.

- ``cases``: who may see and work cases, one case, its events, the search by a
  term's shape, customers and merchants for the API, the customer's pages
  (re-exported here: ``from disputes import selectors; selectors.case_get``);
- ``queue``: the staff queue's tabs, filters and keyset pages, and its CSV rows;
- ``case_page``: everything the staff case page shows, in a fixed number of queries;
- ``dashboard``: the supervisors' figures, each one set-based query;
- ``webhooks``: the call center's webhook endpoints and their deliveries.
"""
from disputes.selectors.webhooks import (
    user_may_view_webhooks,
    webhook_deliveries,
    webhook_endpoint_get,
    webhook_endpoint_list,
)
from disputes.selectors.cases import (
    case_customer_evidence,
    case_customer_notes,
    case_events,
    case_filter_overdue,
    case_for_customer_session,
    case_get,
    case_list,
    case_search_q,
    cases_visible_to,
    customer_lookup,
    merchant_get,
    staff_assignees,
    user_may_view_cases,
    user_may_work_cases,
)

__all__ = [
    "case_customer_evidence", "case_customer_notes", "case_events", "case_filter_overdue", "case_for_customer_session", "case_get",
    "case_list", "case_search_q", "cases_visible_to", "customer_lookup", "merchant_get", "staff_assignees",
    "user_may_view_cases", "user_may_work_cases", "user_may_view_webhooks", "webhook_deliveries", "webhook_endpoint_get",
    "webhook_endpoint_list",
]
