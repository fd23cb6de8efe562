"""The staff workspace's URLs, under /staff/ (docs/design.md, "Web")."""
from django.urls import path

from disputes.web import (
    case_page,
    compliance,
    dashboard,
    imports,
    parties,
    refund_pages,
    staff,
    terminals,
)

urlpatterns = [
    path("", staff.queue, name="staff-queue"),
    path("export.csv", staff.queue_export_csv, name="staff-queue-export"),
    path("assign/", staff.queue_assign, name="staff-queue-assign"),
    path("cases/<str:reference>/", case_page.case_view, name="staff-case"),
    path("cases/<str:reference>/transitions/<str:name>/", case_page.case_step, name="staff-case-transition"),
    path("cases/<str:reference>/notes/", case_page.case_note, name="staff-case-note"),
    path("cases/<str:reference>/verify/", case_page.case_check_records, name="staff-case-verify"),
    path("cases/<str:reference>/attachments/", case_page.case_attach_file, name="staff-case-attach"),
    path("cases/<str:reference>/attachments/<int:attachment_id>/", case_page.attachment_download,
         name="staff-case-attachment"),
    path("cases/<str:reference>/assign/", case_page.case_assign_to, name="staff-case-assign"),
    path("cases/<str:reference>/refund/retry/", refund_pages.case_retry_payment, name="staff-case-refund-retry"),
    path("cases/<str:reference>/letter.pdf", refund_pages.case_letter, name="staff-case-letter"),
    path("cases/<str:reference>/deadline/", case_page.case_extend, name="staff-case-extend"),
    path("cases/<str:reference>/merchant-contacts/", parties.merchant_contact, name="staff-case-merchant-contact"),
    path("cases/<str:reference>/inquiries/", parties.inquiry_send, name="staff-case-inquiry"),
    path("cases/<str:reference>/inquiries/answer/", parties.inquiry_answer, name="staff-case-inquiry-answer"),
    path("compliance/unlicensed/", compliance.unlicensed_page, name="staff-compliance-unlicensed"),
    path("compliance/unlicensed.csv", compliance.unlicensed_csv, name="staff-compliance-unlicensed-csv"),
    path("terminals/", terminals.terminals_page, name="staff-terminals"),
    path("terminals.csv", terminals.terminals_csv, name="staff-terminals-csv"),
    path("dashboard/", dashboard.dashboard_page, name="staff-dashboard"),
    path("dashboard/<slug:figure>.csv", dashboard.dashboard_csv, name="staff-dashboard-csv"),
    path("imports/", imports.imports_page, name="staff-imports"),
    path("imports/<int:run_id>/progress/", imports.import_progress, name="staff-import-progress"),
]
