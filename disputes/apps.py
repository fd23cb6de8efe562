from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = _("Disputes")

    def ready(self) -> None:
        from disputes import tasks  # noqa: F401 - tasks: registered in every process, for the outbox to queue by name
        from disputes.models import CalendarOverride, SlaSettings, StagePolicy
        from disputes.sla import clocks as sla
        from disputes.verification.checks import records_imported
        from disputes.workflow.roles import sync_roles_after_migrate
        from transactions.models import ImportRun

        # After every migrate or flush, the role groups and the system user exist.
        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="disputes.sync_roles")
        # An edited SLA policy or calendar applies at once in this process (others within a minute).
        for model in (SlaSettings, StagePolicy, CalendarOverride):
            post_save.connect(sla.invalidate, sender=model, dispatch_uid=f"disputes.sla.clocks.invalidate.{model.__name__}.save")
            post_delete.connect(sla.invalidate, sender=model, dispatch_uid=f"disputes.sla.clocks.invalidate.{model.__name__}.delete")
        # New transaction records may answer the open cases: check them again (a task, after commit).
        post_save.connect(records_imported, sender=ImportRun, dispatch_uid="disputes.verification.records_imported")
