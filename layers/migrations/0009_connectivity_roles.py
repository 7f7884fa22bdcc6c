"""Omniscape runs take minutes of CPU and write result files: like corridors, only the CVC roles «Analista CVC»
and «Editor de capas» may start them (``layers.add_connectivityrun``). Anonymous users read public results."""
from django.db import migrations

ROLES = {
    "Analista CVC": ["add_connectivityrun", "view_connectivityrun"],
    "Editor de capas": ["add_connectivityrun", "view_connectivityrun"],
}


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("layers")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="layers", codename__in=codenames))


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="layers",
                                      codename__in=["add_connectivityrun", "view_connectivityrun"])
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [("layers", "0008_connectivityrun"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(forwards, backwards)]
