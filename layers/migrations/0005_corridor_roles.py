"""Corridor runs take minutes of CPU and write result files: only CVC roles may start or cancel them."""
from django.db import migrations

ROLES = {
    "Analista CVC": ["add_corridorrun", "change_corridorrun", "view_corridorrun"],
    "Editor de capas": ["add_corridorrun", "change_corridorrun", "view_corridorrun"],
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
                                      codename__in=["add_corridorrun", "change_corridorrun", "view_corridorrun"])
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [("layers", "0004_feature_geom_measure")]
    operations = [migrations.RunPython(forwards, backwards)]
