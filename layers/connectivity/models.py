"""An omnidirectional-connectivity run (Omniscape): its typed parameters, the cache key of its inputs, its job
and its result folder. The job (``jobs``) holds state, progress and errors; this row is the domain record the
page and the API read, and the cache: one row per cache key (unique), reused for an identical request."""
from pathlib import Path

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class ConnectivityRun(models.Model):
    cache_key = models.CharField(_("clave de caché de las entradas"), max_length=64, unique=True)
    params = models.JSONField(_("parámetros"), default=dict)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("usuario"))
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            verbose_name=_("trabajo"))
    public = models.BooleanField(_("público"), default=True,
                                 help_text=_("Falso si usa archivos subidos: solo su usuario lo ve."))
    result_dir = models.CharField(_("resultados (relativo a MEDIA_ROOT)"), max_length=300, blank=True)
    report = models.JSONField(_("informe"), default=dict, blank=True)
    notes = models.JSONField(_("notas"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "layers"
        ordering = ["-created_at"]
        verbose_name = _("corrida de conectividad omnidireccional")
        verbose_name_plural = _("corridas de conectividad omnidireccional")

    def __str__(self):
        return f"Conectividad #{self.pk}"

    @property
    def result_path(self) -> Path | None:
        return Path(settings.MEDIA_ROOT) / self.result_dir if self.result_dir else None
