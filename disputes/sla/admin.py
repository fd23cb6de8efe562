"""Admin pages of the SLA: settings, stage targets, calendar overrides, and the
clock fields and deadline-extension action the case admin mixes in (one
reading of the clocks: ``sla.case_clocks``). Imported by ``disputes/admin.py``.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from disputes.models import CalendarOverride, Case, SlaSettings, StagePolicy
from disputes.sla import clocks as sla
from disputes.sla.extensions import case_extend_deadline
from disputes.workflow.errors import CaseError


class ExtendDeadlineForm(forms.Form):
    reason = forms.CharField(label=_("Reason (told to the customer)"), widget=forms.Textarea(attrs={"rows": 4}),
                             max_length=5000)


def _format_left(clock: sla.Clock | None) -> str:
    if clock is None:
        return "—"
    if clock.time_left is None:
        return str(sla.ClockStatus.PAUSED)
    seconds = int(clock.time_left.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}h{rest // 60:02d}m"


def _format_clock(clock: sla.Clock | None) -> str:
    if clock is None:
        return "—"
    due = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M") if clock.due_at else "—"
    return f"{due} · {clock.status} · {_format_left(clock)}"


class CaseClocksAdminMixin:
    """Read-only clock fields for the Case admin (one reading: ``sla.case_clocks``)."""

    sla_readonly_fields = ("sla_status", "sla_stage_clock", "sla_final_clock", "deadline_extensions")

    class Media:
        css = {"all": ("css/admin.css",)}  # the status colours: a class, as the CSP forbids inline styles

    @admin.display(description=_("SLA"))
    def sla_status(self, obj: Case) -> str:
        status = sla.case_clocks(obj).status or "—"
        return format_html('<span class="sla-status" data-status="{}">{}</span>', status, status)

    @admin.display(description=_("stage deadline (status, business time left)"))
    def sla_stage_clock(self, obj: Case) -> str:
        return _format_clock(sla.case_clocks(obj).stage)

    @admin.display(description=_("overall deadline (status, time left)"))
    def sla_final_clock(self, obj: Case) -> str:
        return _format_clock(sla.case_clocks(obj).final)

    def has_supervise_permission(self, request) -> bool:
        return request.user.has_perm("disputes.supervise_case")

    @admin.action(description=_("Extend the overall deadline (with a reason)"), permissions=["supervise"])
    def extend_deadline(self, request, queryset):
        """A supervisor's extension through ``case_extend_deadline``, for each selected case."""
        form = ExtendDeadlineForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            extended = 0
            for case in queryset.select_related("customer"):
                try:
                    case_extend_deadline(case=case, actor=request.user, reason=form.cleaned_data["reason"])
                    extended += 1
                except ValidationError as exc:
                    self.message_user(request, f"{case.reference}: {' '.join(exc.messages)}", messages.ERROR)
                except CaseError as exc:
                    self.message_user(request, f"{case.reference}: {exc.message}", messages.ERROR)
            if extended:
                self.message_user(request, gettext("Deadline extended for %(n)s case(s).") % {"n": extended},
                                  messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/disputes/extend_deadline.html", {
            **self.admin_site.each_context(request),
            "title": _("Extend the overall deadline"),
            "form": form,
            "cases": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })


@admin.register(SlaSettings)
class SlaSettingsAdmin(admin.ModelAdmin):
    fieldsets = (
        (_("Business calendar"), {"fields": ("time_zone", "work_starts", "work_ends", "holiday_country")}),
        (_("Overall deadline"), {"fields": ("final_days", "final_counting", "first_extension_to_days",
                                            "second_extension_days", "final_reminder_lead")}),
        (_("Told when the overall deadline is missed"), {"fields": ("notify_assignee", "notify_supervisors", "notify_emails")}),
        (_("Automatic steps"), {"fields": ("auto_escalate_merchant_silence", "auto_close_after")}),
    )

    def has_add_permission(self, request) -> bool:
        return not SlaSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StagePolicy)
class StagePolicyAdmin(admin.ModelAdmin):
    list_display = ("state", "target", "unit", "reminder_lead", "notify_assignee", "notify_supervisors")
    list_editable = ("target", "unit", "reminder_lead")


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ("day", "is_working_day", "note")
    list_filter = ("is_working_day",)
    date_hierarchy = "day"
