"""CVC reviewers («Revisor CVC») may cancel any corridor run (layers' «cancel_any_corridorrun», created in
layers 0006); everyone else cancels only the runs they started."""
from django.db import migrations

ROLES = {"Revisor CVC": ["cancel_any_corridorrun"]}


def seed(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="layers", codename__in=codenames))


def forwards(apps, schema_editor):
    seed(apps)


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="layers", codename__in=ROLES["Revisor CVC"])
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [("territorial", "0008_pot_conflict_cache_binary"), ("layers", "0006_corridor_cancel_any")]
    operations = [migrations.RunPython(forwards, backwards)]
