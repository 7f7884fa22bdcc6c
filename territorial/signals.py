"""Keep derived subregion geometries in step with membership edits made in the admin."""
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from geosig import versioned
from territorial import models as _models
from territorial.models import Municipality
from territorial.services.geometry import recompute_aggregates


@receiver(pre_save, sender=Municipality)
def _remember_subregion(sender, instance, **kwargs):
    if instance.pk:
        instance._old_subregion_id = (
            Municipality.objects.filter(pk=instance.pk).values_list("subregion_id", flat=True).first()
        )


@receiver(post_save, sender=Municipality)
def _recompute_on_move(sender, instance, created, **kwargs):
    old = getattr(instance, "_old_subregion_id", None)
    if not created and old is not None and old != instance.subregion_id:
        ids = [old, instance.subregion_id]
        transaction.on_commit(lambda: recompute_aggregates(subregion_ids=ids))


def _bump(**kwargs):
    transaction.on_commit(lambda: versioned.bump("territorial"))


for _model in ("Municipality", "Subregion", "IndicatorValue", "Indicator"):
    post_save.connect(_bump, sender=getattr(_models, _model), dispatch_uid=f"bump-{_model}")
    post_delete.connect(_bump, sender=getattr(_models, _model), dispatch_uid=f"bump-del-{_model}")
