"""The admin's user and group pages, through ``accounts.services``.

Django's stock user admin lets anyone with "change user" edit every field of
every account, their own included: an admin could make themselves superuser
and supervisor and then approve refunds alone. Here:

- an account the viewer may not change (``services.user_account_check``:
  their own, a supervisor's, an admin's, a superuser's when the viewer is not
  a superuser) is shown read-only, its password cannot be set, and a post is
  refused with the reason;
- the superuser flag and direct permissions are read-only to non-superusers,
  and one's own access fields are read-only to everyone;
- roles, flags and permissions are saved by ``services.user_access_set``
  (checked again, applied, audited), never by the form itself; the form checks
  the same rules first so a refusal shows on the form;
- groups (what each role may do) are a superuser's to change;
- the access audit trail is read-only.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy as _

from disputes.workflow.names import Role

from . import services
from .models import AccessChange, EntryPoint

ACCESS_FLAGS = ("is_superuser", "is_staff", "is_active")
# The form fields that are access, and the service's names for them.
ACCESS_FORM_FIELDS = {"groups": "roles", "user_permissions": "permissions",
                      **{flag: flag for flag in ACCESS_FLAGS}}


def _wanted_access(form) -> dict:
    """The access the posted form asks for, in ``user_access_set``'s terms (editable fields only)."""
    wanted = {}
    for field, name in ACCESS_FORM_FIELDS.items():
        if field not in form.fields or field not in form.cleaned_data:
            continue
        value = form.cleaned_data[field]
        if field == "groups":
            value = [group.name for group in value]
        elif field == "user_permissions":
            value = [f"{p.content_type.app_label}.{p.codename}" for p in value.select_related("content_type")]
        wanted[name] = value
    return wanted


class AccessCheckedUserChangeForm(UserChangeForm):
    """Refuses, as a form error, an access change the actor may not make."""

    actor = None  # set per request by StaffUserAdmin.get_form

    def clean(self):
        cleaned_data = super().clean()
        wanted = _wanted_access(self)
        if wanted and not self.errors:
            try:
                services.user_access_change_check(actor=self.actor, user=self.instance, **wanted)
            except services.AccessRefused as exc:
                raise ValidationError(exc.message) from None
        return cleaned_data


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    form = AccessCheckedUserChangeForm
    change_form_template = "admin/accounts/user/change_form.html"

    def _refusal(self, request: HttpRequest, obj) -> str | None:
        """Why the viewer may not change this account, or None; once per request and account."""
        cache = request.__dict__.setdefault("_account_refusals", {})
        if obj.pk not in cache:
            try:
                services.user_account_check(actor=request.user, user=obj)
            except services.AccessRefused as exc:
                cache[obj.pk] = str(exc.message)
            else:
                cache[obj.pk] = None
        return cache[obj.pk]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or request.user.is_superuser or self._refusal(request, obj) is None

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        if obj.pk == request.user.pk:
            readonly += list(ACCESS_FORM_FIELDS)
        return list(dict.fromkeys(readonly))

    def get_form(self, request: HttpRequest, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user  # modelform_factory made this class for this request
        return form

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups" and request is not None and not request.user.is_superuser:
            field.help_text = _("You may grant and remove the agent and call-center roles; "
                                "only a superuser grants supervisor or admin.")
        return field

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        if object_id is not None and not request.user.is_superuser:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and self.has_view_permission(request, obj):
                refusal = self._refusal(request, obj)
                if refusal and request.method == "POST":
                    messages.error(request, refusal)
                    return HttpResponseRedirect(request.get_full_path())
                extra_context = {**(extra_context or {}), "account_refusal": refusal}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def user_change_password(self, request: HttpRequest, id, form_url=""):
        user = self.get_object(request, unquote(id))
        if user is not None and self.has_view_permission(request, user) and not request.user.is_superuser:
            refusal = self._refusal(request, user)
            if refusal:
                messages.error(request, refusal)
                return HttpResponseRedirect(reverse("admin:auth_user_change", args=[quote(user.pk)],
                                                    current_app=self.admin_site.name))
        return super().user_change_password(request, id, form_url)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)  # the add form has no access fields
            return
        # The profile only: access is written by ``user_access_set`` in save_related, and the
        # password (not editable here) by the password page; neither is overwritten with this copy.
        fields = [f.attname for f in obj._meta.concrete_fields
                  if not f.primary_key and f.name not in (*ACCESS_FLAGS, "password")]
        obj.save(update_fields=fields)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        wanted = _wanted_access(form) if change else {}
        for field in ("groups", "user_permissions"):
            form.cleaned_data.pop(field, None)  # not saved by the form: by the service below
        super().save_related(request, form, formsets, change)
        if wanted:
            try:
                services.user_access_set(actor=request.user, user=form.instance, entry_point=EntryPoint.ADMIN,
                                         **wanted)
            except services.AccessRefused as exc:  # changed since the form was checked: roll back
                raise PermissionDenied(exc.message) from exc


@admin.register(Group)
class RoleGroupAdmin(GroupAdmin):
    """What each role may do. Only superusers change it; the workflow's role
    groups are neither renamed nor deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_change_permission(request, obj) and (obj is None or obj.name not in Role.values)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + ["name"] if obj is not None and obj.name in Role.values else readonly

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and self.has_view_permission(request) and not self.has_change_permission(request):
            messages.error(request, gettext("Only a superuser may change what a role may do."))
            return HttpResponseRedirect(request.get_full_path() if object_id else
                                        reverse("admin:auth_group_changelist", current_app=self.admin_site.name))
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(AccessChange)
class AccessChangeAdmin(admin.ModelAdmin):
    """The access audit trail. The database refuses UPDATE and DELETE on it too."""

    list_display = ("created_at", "user_label", "actor_label", "entry_point", "summary")
    list_filter = ("entry_point",)
    search_fields = ("user_label__exact", "actor_label__exact")
    search_help_text = _("Exact username of the user or of who changed it.")
    ordering = ("-id",)
    fields = ("created_at", "user", "user_label", "actor", "actor_label", "entry_point", "before", "after")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("user", "actor")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("change"))
    def summary(self, obj: AccessChange) -> str:
        def shown(value) -> str:
            return (", ".join(value) or "—") if isinstance(value, list) else str(value)

        return "; ".join(f"{name}: {shown(obj.before.get(name))} → {shown(obj.after.get(name))}" for name in obj.after)
