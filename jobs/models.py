"""A background job as the user sees it: who asked, what, its state, progress, result or Spanish error.

Procrastinate's own ``procrastinate_jobs`` row is the queue entry (locking, retries, worker heartbeats);
this row is the product record the pages and the API read. Both are written in one transaction.
"""
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("En cola")
        RUNNING = "running", _("En ejecución")
        DONE = "done", _("Terminado")
        FAILED = "failed", _("Falló")
        CANCELLED = "cancelled", _("Cancelado")

    ACTIVE = (State.QUEUED, State.RUNNING)
    FINAL = (State.DONE, State.FAILED, State.CANCELLED)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("dueño"))
    kind = models.CharField(_("tipo"), max_length=50, db_index=True)
    params = models.JSONField(_("parámetros"), default=dict, blank=True)
    state = models.CharField(_("estado"), max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(_("avance (%)"), default=0)
    message = models.CharField(_("paso actual"), max_length=300, blank=True)
    heartbeat_at = models.DateTimeField(_("último latido"), null=True, blank=True)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    started_at = models.DateTimeField(_("iniciado"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminado"), null=True, blank=True)
    result = models.JSONField(_("resultado"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("intentos"), default=0)
    cancel_requested = models.BooleanField(_("cancelación pedida"), default=False)
    worker = models.CharField(_("proceso"), max_length=200, blank=True)
    queue_job_id = models.BigIntegerField(_("id en la cola"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("trabajo")
        verbose_name_plural = _("trabajos")
        permissions = [("cancel_any_job", _("Puede cancelar trabajos de otros usuarios"))]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def workdir(self) -> Path:
        return Path(settings.MEDIA_ROOT) / "jobs" / f".tmp-{self.pk}"
