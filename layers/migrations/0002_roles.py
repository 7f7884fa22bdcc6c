"""Roles: "Analista CVC" may upload layers; "Editor de capas" may also edit and delete them.

Permissions are normally created after migrate (post_migrate); create them here so the groups can be
filled in the same run, on a fresh database as well as in the test database.
"""
from django.db import migrations

ROLES = {
    "Analista CVC": ["view_layer", "upload_layer", "view_feature"],
    "Editor de capas": ["view_layer", "upload_layer", "add_layer", "change_layer", "delete_layer",
                        "view_feature", "add_feature", "change_feature", "delete_feature"],
}


def add_9377(schema_editor):
    # Areas are measured in EPSG:9377, missing from PostGIS 3.3; guarded, so it is harmless if present.
    from django.contrib.gis.utils.srs import add_srs_entry

    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = 9377")
        if cur.fetchone():
            return
    add_srs_entry(9377, database=schema_editor.connection.alias)


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    add_9377(schema_editor)
    config = apps.get_app_config("layers")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(content_type__app_label="layers", codename__in=codenames)
        group.permissions.add(*perms)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("layers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
