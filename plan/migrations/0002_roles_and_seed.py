"""The plan's roles (Django groups) and its own structure (plan/seed.py: six dimensions, six program lines,
five specific objectives, the semaphore thresholds)."""
from django.contrib.auth.management import create_permissions
from django.db import migrations


def forwards(apps, schema_editor):
    # permissions are normally created after the last migration (post_migrate): create them now
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    from plan.seed import seed

    seed(apps)


def backwards(apps, schema_editor):
    from plan.seed import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("plan", "0001_portfolio"), ("auth", "0012_alter_user_first_name_max_length"),
                    ("contenttypes", "0002_remove_content_type_name")]
    operations = [migrations.RunPython(forwards, backwards)]
