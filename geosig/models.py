from django.db import models


class ThrottleWindow(models.Model):
    """One rate-limit bucket (``scope:client``) and its hits in the current fixed window.

    Written only by ``geosig.throttling.hit`` with one upsert per request; rows past ``expires`` are
    purged now and then. Epoch seconds (integers) keep the upsert's comparison exact and cheap.
    """

    key = models.CharField(max_length=200, primary_key=True)
    window_start = models.BigIntegerField()
    expires = models.BigIntegerField(db_index=True)
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "ventana de límite de solicitudes"
