from django.db import migrations


class Migration(migrations.Migration):
    """Rate-limit counters need no crash safety: an UNLOGGED table writes no WAL, so a request's upsert
    commits without waiting for a disk flush (a crash empties the table, i.e. resets the windows)."""

    dependencies = [("geosig", "0001_throttle")]

    operations = [
        migrations.RunSQL("ALTER TABLE geosig_throttlewindow SET UNLOGGED",
                          "ALTER TABLE geosig_throttlewindow SET LOGGED"),
    ]
