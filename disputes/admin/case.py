"""The case's admin: read-only, with the workflow steps and assignment as actions that call the services."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import BigTableAdmin
from disputes.admin.base import CaseEventInline, RefundInline, WritesThroughServicesMixin, transition_label
from disputes.models import TRANSITION_LABELS, TRANSITION_NAMES, Case
from disputes.selectors import case_search_q
from disputes.sla import clocks as sla
from disputes.sla.admin import CaseClocksAdminMixin
from disputes.workflow.casework import case_assign
from disputes.workflow.errors import CaseError, StaleCase
from disputes.workflow.names import NOTE_MAX_LENGTH, State
from disputes.workflow.steps import case_transition
from disputes.workflow.transitions import allowed_transitions

# --- the case ---------------------------------------------------------------------------


class CaseTransitionForm(forms.Form):
    """One workflow step and what it may need.

    The list offers the steps ``allowed_transitions`` gives this user;
    any known step name is accepted so that the service, which owns the rules,
    says why a step is refused (role, four eyes, state, a stale page).
    """

    name = forms.ChoiceField(label=_("Step"), choices=[(name, TRANSITION_LABELS[name]) for name in TRANSITION_NAMES])
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                           max_length=NOTE_MAX_LENGTH)
    reason = forms.CharField(label=_("Reason (to reject)"), required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))
    amount = forms.CharField(label=_("Refund amount (to propose a refund)"), required=False, max_length=20)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, allowed: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.choices = [(name, transition_label(name)) for name in allowed]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "note": data["note"],
            "reason": data["reason"],
            "amount": data["amount"].strip() or None,
            "expected_version": data["version"],
        }


class AssigneeFilter(admin.SimpleListFilter):
    """Mine or nobody's: a dropdown of every user would not scale."""

    title = _("assignee")
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return (("me", _("me")), ("nobody", _("nobody")))

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assignee=request.user)
        if self.value() == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadlines")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return (("yes", _("overdue")),)

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(sla.overdue_q())
        return queryset


CASE_FIELDSETS = (
    (None, {"fields": ("reference", "state", "version", "channel", "priority", "assignee")}),
    (_("Customer"), {"fields": ("customer", "card", "description")}),
    (_("Transaction as reported"), {"fields": ("amount", "currency", "transaction_at", "merchant_name",
                                               "merchant_id", "terminal_id", "rrn", "stan", "auth_code")}),
    (_("Matched records"), {"fields": ("resolved_merchant", "resolved_terminal", "processor",
                                       "ledger_entry", "settlement_record", "linked_to")}),
    (_("Outcome"), {"fields": ("root_cause", "resolution", "rejection_reason", "refund_amount",
                               "refund_proposed_by", "resume_state")}),
    (_("Clocks"), {"fields": ("created_at", "updated_at", "stage_entered_at", "sla_due_at", "final_due_at",
                              "ended_at", "closed_at")}),
)
# What the case page shows beside the case; loaded with it in one query.
CASE_PAGE_RELATED = (
    "customer", "card", "assignee", "resolved_merchant", "resolved_terminal__merchant", "processor",
    "ledger_entry", "settlement_record", "refund_proposed_by", "linked_to",
)


@admin.register(Case)
class CaseAdmin(WritesThroughServicesMixin, CaseClocksAdminMixin, BigTableAdmin):
    list_display = ("reference", "state", "customer", "amount", "currency", "merchant_name", "assignee",
                    "priority", "created_at", "sla_due_at", "sla_status")
    list_select_related = ("customer", "assignee")
    list_filter = ("state", AssigneeFilter, OverdueFilter, "priority", "channel", "root_cause")
    search_fields = ("reference__exact",)  # shows the box; get_search_results reads the term's shape
    search_help_text = _("A reference, a phone number (+86…), an RRN (12 digits), a merchant id (15 digits) "
                         "or a card's last 4 digits: exact.")
    sortable_by = ("reference", "created_at")  # both indexed
    fieldsets = CASE_FIELDSETS + ((_("SLA clocks"), {"fields": CaseClocksAdminMixin.sla_readonly_fields}),)
    readonly_fields = tuple(field for _title, options in fieldsets for field in options["fields"])
    inlines = (RefundInline, CaseEventInline)
    actions = ("assign_to_me", "release", "extend_deadline")


    def has_assign_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("disputes.assign_case")

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        """Search one indexed column, chosen by the shape of the term (the staff
        queue's search, ``selectors.case_search_q``), not an OR over joined
        columns that would scan millions of cases."""
        if not "".join(search_term.split()):
            return queryset, False
        return queryset.filter(case_search_q(search_term)), False

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Case | None:
        queryset = self.get_queryset(request).select_related(*CASE_PAGE_RELATED)
        field = Case._meta.pk if from_field is None else Case._meta.get_field(from_field)
        try:
            return queryset.get(**{field.name: field.to_python(object_id)})
        except (Case.DoesNotExist, ValidationError, ValueError):
            return None

    def get_urls(self):
        return [
            path("<path:object_id>/transition/", self.admin_site.admin_view(self.transition_view),
                 name="disputes_case_transition"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            allowed = allowed_transitions(obj, request.user)
            context.update(
                workflow_transitions=[(name, transition_label(name)) for name in allowed],
                workflow_needs_reason="reject" in allowed,
                workflow_needs_amount="propose_refund" in allowed,
                workflow_url=reverse("admin:disputes_case_transition", args=[quote(obj.pk)],
                                     current_app=self.admin_site.name),
                events_url=reverse("admin:disputes_caseevent_changelist", current_app=self.admin_site.name)
                + f"?case__id__exact={obj.pk}",
            )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def transition_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Take one workflow step through ``case_transition``; errors become messages."""
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404(gettext("No case with that id."))
        if not self.has_view_permission(request, case):
            raise PermissionDenied
        change_url = reverse("admin:disputes_case_change", args=[quote(case.pk)], current_app=self.admin_site.name)

        if request.method == "POST":
            form = CaseTransitionForm(request.POST, allowed=allowed_transitions(case, request.user))
            if form.is_valid():
                try:
                    case_transition(case=case, actor=request.user, **form.service_kwargs())
                except StaleCase as exc:
                    messages.error(request, exc.message)
                    return HttpResponseRedirect(change_url)
                except CaseError as exc:
                    messages.error(request, exc.message)
                except ValidationError as exc:
                    messages.error(request, " ".join(exc.messages))
                else:
                    messages.success(request, gettext("“%(step)s” done: the case is now %(state)s.")
                                     % {"step": transition_label(form.cleaned_data["name"]),
                                        "state": State(case.state).label})
                    return HttpResponseRedirect(change_url)
                # Nothing was written; show the case as it is in the database.
                case = self.get_object(request, unquote(object_id))
                form = CaseTransitionForm(request.POST, allowed=allowed_transitions(case, request.user))
        else:
            form = CaseTransitionForm(
                initial={"name": request.GET.get("name"), "version": case.version},
                allowed=allowed_transitions(case, request.user),
            )

        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": case,
            "title": gettext("Take a workflow step on case %(reference)s") % {"reference": case.reference},
            "subtitle": None,
            "form": form,
            "change_url": change_url,
            "has_view_permission": True,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/disputes/case/transition.html", context)

    @admin.action(description=_("Assign the selected cases to me"), permissions=["assign"])
    def assign_to_me(self, request: HttpRequest, queryset) -> None:
        self._assign(request, queryset, assignee=request.user)

    @admin.action(description=_("Release the selected cases (unassign)"), permissions=["assign"])
    def release(self, request: HttpRequest, queryset) -> None:
        self._assign(request, queryset, assignee=None)

    def _assign(self, request: HttpRequest, queryset, *, assignee) -> None:
        done = 0
        for case in queryset.select_related("assignee"):
            try:
                case_assign(case=case, actor=request.user, assignee=assignee)
            except CaseError as exc:
                messages.error(request, f"{case.reference}: {exc.message}")
            except ValidationError as exc:
                messages.error(request, f"{case.reference}: {' '.join(exc.messages)}")
            else:
                done += 1
        if done:
            messages.success(request, ngettext("%(count)d case changed.", "%(count)d cases changed.", done)
                             % {"count": done})
