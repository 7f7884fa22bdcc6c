"""PostGIS 3.3's spatial_ref_sys lacks EPSG:9377 (MAGNA-SIRGAS Origen Nacional); PROJ knows it."""
from django.db import migrations


def add_9377(apps, schema_editor):
    from django.contrib.gis.utils.srs import add_srs_entry

    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = 9377")
        if cur.fetchone():
            return
    add_srs_entry(9377, database=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("territorial", "0001_initial")]
    operations = [migrations.RunPython(add_9377, migrations.RunPython.noop)]
