"""Matrices and function inventories keep their versions (name + version unique); the import role."""

from django.db import migrations, models

# Importing matrices, inventories and attributes is a role (the CVC analysts who also upload layers), not
# admin access: before, any is_staff user could replace the default matrix and break every balance report.
ROLES = {"Analista CVC": ["import_city_data"]}


def seed(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="cities", codename__in=codenames))


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("cities")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    seed(apps)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(content_type__app_label="cities",
                                                        codename="import_city_data").delete()



class Migration(migrations.Migration):

    dependencies = [
        ('cities', '0001_initial'),
        ('layers', '0002_roles'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='functioninventory',
            options={'ordering': ['-created', '-version'], 'verbose_name': 'inventario de funciones urbanas', 'verbose_name_plural': 'inventarios de funciones urbanas'},
        ),
        migrations.AlterModelOptions(
            name='travelmatrix',
            options={'ordering': ['-is_default', 'name', '-version'], 'permissions': [('import_city_data', 'Puede importar datos del sistema de ciudades')], 'verbose_name': 'matriz de viaje', 'verbose_name_plural': 'matrices de viaje'},
        ),
        migrations.AddField(
            model_name='functioninventory',
            name='version',
            field=models.PositiveIntegerField(default=1, verbose_name='versión'),
        ),
        migrations.AddField(
            model_name='travelmatrix',
            name='version',
            field=models.PositiveIntegerField(default=1, verbose_name='versión'),
        ),
        migrations.AlterField(
            model_name='functioninventory',
            name='name',
            field=models.SlugField(max_length=60, verbose_name='nombre'),
        ),
        migrations.AlterField(
            model_name='travelmatrix',
            name='name',
            field=models.SlugField(max_length=60, verbose_name='nombre'),
        ),
        migrations.AddConstraint(
            model_name='functioninventory',
            constraint=models.UniqueConstraint(fields=('name', 'version'), name='uniq_inventory_version'),
        ),
        migrations.AddConstraint(
            model_name='travelmatrix',
            constraint=models.UniqueConstraint(fields=('name', 'version'), name='uniq_matrix_version'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
