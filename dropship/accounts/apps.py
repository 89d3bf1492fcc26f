from django.apps import AppConfig
from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db.models.signals import post_migrate

from dropship.accounts.roles import MARKETPLACE_APPS, sync_role_permissions


def _sync_roles_after_migrate(sender, using, **kwargs) -> None:
    # post_migrate runs app by app; make sure every marketplace model's permissions exist first.
    for label in MARKETPLACE_APPS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using)
    sync_role_permissions(apps=global_apps)


class AccountsConfig(AppConfig):
    name = "dropship.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        # Models added after the roles migration get their permissions into the role groups here.
        post_migrate.connect(
            _sync_roles_after_migrate, sender=self, dispatch_uid="dropship.sync_roles"
        )
        # allauth's hook, not a domain flow: enrolling a second factor passes it for the session.
        # Imported here because both modules import models, which exist only once apps are ready.
        from allauth.mfa.signals import authenticator_added

        from dropship.accounts.mfa import record_enrolment_as_factor

        authenticator_added.connect(
            record_enrolment_as_factor, dispatch_uid="dropship.mfa_enrolment_passes_factor"
        )
        # Django's logout hook, not a domain flow: logging out ends support's read-only view.
        from django.contrib.auth.signals import user_logged_out

        from dropship.accounts.view_as import end_view_as_on_logout

        user_logged_out.connect(end_view_as_on_logout, dispatch_uid="dropship.view_as_logout")
