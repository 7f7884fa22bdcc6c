"""A corridor run: its parameters (and their hash, for the cache), progress, cancel flag and result files.

Results live in ``MEDIA_ROOT/corridors/<id>/``; they are written to a temporary sibling directory and
renamed into place only when the run finished, so a cancelled or failed run leaves nothing half-written.
"""
from pathlib import Path

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class CorridorRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("En cola")
        RUNNING = "running", _("En ejecución")
        DONE = "done", _("Terminada")
        FAILED = "failed", _("Falló")
        CANCELLED = "cancelled", _("Cancelada")

    inputs_hash = models.CharField(_("huella de entradas"), max_length=64, db_index=True)
    params = models.JSONField(_("parámetros"), default=dict)
    status = models.CharField(_("estado"), max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(_("avance (%)"), default=0)
    message = models.CharField(_("paso actual"), max_length=300, blank=True)
    error = models.TextField(_("error"), blank=True)
    cancel_requested = models.BooleanField(_("cancelación pedida"), default=False)
    result_dir = models.CharField(_("resultados (relativo a MEDIA_ROOT)"), max_length=300, blank=True)
    report = models.JSONField(_("informe"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "layers"
        ordering = ["-created_at"]
        verbose_name = _("corrida de corredores")
        verbose_name_plural = _("corridas de corredores")
        # cancelling someone else's run throws away minutes of their CPU: owners cancel theirs, this
        # permission (group «Editor de capas», CVC reviewers) any run (migration 0006)
        permissions = [("cancel_any_corridorrun", _("Puede cancelar corridas de otros usuarios"))]

    def __str__(self):
        return f"Corredores #{self.pk} ({self.status})"

    @property
    def result_path(self) -> Path | None:
        return Path(settings.MEDIA_ROOT) / self.result_dir if self.result_dir else None
