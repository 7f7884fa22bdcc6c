"""The conflict cache becomes compressed bytes; old rows are a cache, so they are simply dropped."""
from django.db import migrations, models


def purge(apps, schema_editor):
    apps.get_model("territorial", "ConflictCache").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("territorial", "0007_pot_conflict_cache_text")]
    operations = [
        migrations.RunPython(purge, migrations.RunPython.noop),
        migrations.RemoveField("conflictcache", "rows"),
        migrations.AddField("conflictcache", "rows", models.BinaryField(default=b"")),
    ]
