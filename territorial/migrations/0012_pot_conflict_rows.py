"""Conflict findings move from a compressed blob per cache entry to rows (attributes, area, PostGIS
geometry) written set-based; the old entries are a cache, so they are dropped (an entry without rows
would read as 'no findings')."""

import django.contrib.gis.db.models.fields
import django.db.models.deletion
from django.db import migrations, models


def purge(apps, schema_editor):
    apps.get_model("territorial", "ConflictCache").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('territorial', '0011_indicator_references'),
    ]

    operations = [
        migrations.RunPython(purge, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='conflictcache',
            name='rows',
        ),
        migrations.AddField(
            model_name='conflictcache',
            name='size_bytes',
            field=models.BigIntegerField(default=0),
        ),
        migrations.CreateModel(
            name='ConflictRow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('area_m2', models.FloatField(null=True)),
                ('attrs', models.JSONField(default=dict)),
                ('geom', django.contrib.gis.db.models.fields.GeometryField(null=True, spatial_index=False, srid=9377)),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conflict_rows', to='territorial.conflictcache')),
            ],
        ),
    ]
