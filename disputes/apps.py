from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = _("Disputes")

    def ready(self) -> None:
        from .roles import sync_roles_after_migrate

        # After every migrate or flush, the role groups and the system user exist.
        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="disputes.sync_roles")
