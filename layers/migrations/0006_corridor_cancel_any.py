"""Cancelling a corridor run: its owner, or whoever holds «cancel_any_corridorrun» (group «Editor de capas»
here; the POT reviewers get it in territorial 0009). Before, anyone allowed to run corridors could cancel
anyone's run."""
from django.db import migrations

ROLES = {"Editor de capas": ["cancel_any_corridorrun"]}


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
    apps.get_model("auth", "Permission").objects.filter(content_type__app_label="layers",
                                                        codename="cancel_any_corridorrun").delete()


class Migration(migrations.Migration):
    dependencies = [("layers", "0005_corridor_roles")]
    operations = [
        migrations.AlterModelOptions(
            name="corridorrun",
            options={"ordering": ["-created_at"], "permissions": [
                ("cancel_any_corridorrun", "Puede cancelar corridas de otros usuarios")],
                "verbose_name": "corrida de corredores", "verbose_name_plural": "corridas de corredores"},
        ),
        migrations.RunPython(forwards, backwards),
    ]
