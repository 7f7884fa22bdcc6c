"""A deleted raster layer takes its COG with it (after the transaction commits, so a rollback keeps it)."""
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from layers.models import Layer


@receiver(post_delete, sender=Layer)
def remove_raster_file(sender, instance, **kwargs):
    path = instance.raster_path
    if path is not None:
        transaction.on_commit(lambda: path.unlink(missing_ok=True))
