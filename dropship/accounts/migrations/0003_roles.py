"""Create the "Platform admin" and "Support agent" groups with their permission sets."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from dropship.accounts.roles import MARKETPLACE_APPS, sync_role_permissions


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    for app_config in apps.get_app_configs():
        if app_config.label in (*MARKETPLACE_APPS, "auth", "contenttypes"):
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None
    sync_role_permissions(apps=apps)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Platform admin", "Support agent"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_initial"),
        ("suppliers", "0001_initial"),
        ("catalog", "0001_initial"),
        ("retailers", "0001_initial"),
        ("orders", "0001_initial"),
        ("billing", "0001_initial"),
        ("integrations", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
