"""POT plans drawn by municipal planners and reviewed by the CVC.

Zones keep two geometries: ``geom`` in EPSG:4326 (what the map and exchange formats use) and
``geom_m`` in EPSG:9377, written by the save service, so the conflict queries measure areas in metres
without transforming thousands of polygons on every run. Determinant polygons are stored the same way,
already cut with ST_Subdivide, because the overlay cost is dominated by big polygons.
"""
from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from territorial.pot.classes import SOIL_CLASSES, Status, Verdict

SOIL_CHOICES = [(c.code, c.label) for c in SOIL_CLASSES.values()]


class PlannerAssignment(models.Model):
    """Which municipalities a planner may edit (a planner can serve several)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pot_assignments")
    municipality = models.ForeignKey(
        "territorial.Municipality", on_delete=models.CASCADE, related_name="pot_planners"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "municipality"], name="uniq_pot_assignment")]
        verbose_name = _("asignación de planificador")
        verbose_name_plural = _("asignaciones de planificadores")

    def __str__(self):
        return f"{self.user} → {self.municipality}"


class Plan(models.Model):
    municipality = models.ForeignKey("territorial.Municipality", on_delete=models.PROTECT, related_name="pot_plans")
    name = models.CharField(_("nombre"), max_length=200)
    status = models.CharField(_("estado"), max_length=20, choices=Status.CHOICES, default=Status.BORRADOR)
    is_demo = models.BooleanField(_("demostración"), default=False)
    source = models.TextField(_("fuente"), blank=True)
    version = models.PositiveIntegerField(_("versión"), default=1)  # optimistic locking counter
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(_("enviado el"), null=True, blank=True)  # the review queue's order
    # the amend cycle: a revision points to the approved plan it replaces; when the revision is approved,
    # the old plan becomes «reemplazada» and points forward to it
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="revisions", verbose_name=_("reemplaza a"))
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("reemplazado por"))
    # the POT rule findings (validation.Finding dicts) of the zones as of version ``findings_version``
    findings = models.JSONField(_("hallazgos de validación"), null=True, blank=True, editable=False)
    findings_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["municipality__name", "-updated_at"]
        constraints = [
            # one current (approved) plan per municipality; the services also enforce it under row locks
            models.UniqueConstraint(fields=["municipality"], condition=Q(status="aprobada"),
                                    name="uniq_pot_current_plan"),
        ]
        verbose_name = _("plan POT")
        verbose_name_plural = _("planes POT")

    @property
    def current(self) -> bool:
        return self.status == "aprobada"

    def __str__(self):
        return f"{self.name} ({self.municipality.name}){' [demo]' if self.is_demo else ''}"


class Zone(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="zones")
    soil_class = models.CharField(_("clase de suelo"), max_length=20, choices=SOIL_CHOICES)
    use_category = models.CharField(_("categoría de uso"), max_length=100, blank=True)
    name = models.CharField(_("nombre"), max_length=200, blank=True)
    notes = models.TextField(_("notas"), blank=True)
    geom = models.MultiPolygonField(_("geometría"), srid=4326)
    geom_m = models.MultiPolygonField(srid=9377, editable=False)
    area_m2 = models.FloatField(_("área (m², EPSG:9377)"), editable=False)

    class Meta:
        ordering = ["plan", "id"]
        verbose_name = _("zona")
        verbose_name_plural = _("zonas")

    def __str__(self):
        return f"{self.get_soil_class_display()} {self.name}".strip()


class ZonePiece(models.Model):
    """ST_Subdivide pieces of ``Zone.geom_m`` (≤ 256 vertices), rewritten on every save: the conflict
    joins run on small indexed pieces instead of whole zones (a rural zone can have ~30 000 vertices)."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="pieces")
    plan_id_copy = models.BigIntegerField(db_index=True)  # denormalised: filter pieces by plan without a join
    geom_m = models.PolygonField(srid=9377)

    class Meta:
        verbose_name = _("pieza de zona")
        verbose_name_plural = _("piezas de zonas")


class PlanVersion(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("versión"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(_("acción"), max_length=40)
    summary = models.TextField(_("qué cambió"))
    changes = models.JSONField(_("cambios"), default=dict)
    status = models.CharField(_("estado"), max_length=20, choices=Status.CHOICES)
    snapshot = models.JSONField(_("instantánea (GeoJSON)"))

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="uniq_plan_version")]
        verbose_name = _("versión del plan")
        verbose_name_plural = _("versiones del plan")

    def __str__(self):
        return f"{self.plan_id} v{self.number}: {self.summary}"


class PlanWaiver(models.Model):
    """A reviewer's written dispensation of one validation gate of a plan (rule + zones), valid for the
    zones as they were when it was given (``findings_version``): editing the plan voids it."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="waivers")
    rule = models.CharField(_("regla"), max_length=40)
    zone_ids = models.JSONField(_("zonas"), default=list, blank=True)  # empty: every gate of the rule
    reason = models.TextField(_("motivo"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    plan_version = models.PositiveIntegerField(_("versión del registro"))
    findings_version = models.PositiveIntegerField(_("versión de las zonas dispensadas"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "created_at"]
        verbose_name = _("dispensa de regla")
        verbose_name_plural = _("dispensas de reglas")

    def __str__(self):
        return f"{self.plan_id}: {self.rule} — {self.reason[:60]}"


class PotRulesSettings(models.Model):
    """The thresholds of the POT validation rules: ONE row (pk=1), edited by CVC staff in the admin and
    read by ``validation.rules()``. Defaults are documented on each field (help_text)."""

    outside_band_m = models.FloatField(
        _("franja de tolerancia del límite (m)"), default=50.0,
        help_text=_("El límite municipal (MGN 2021) está generalizado: lo que una zona sale del municipio dentro "
                    "de esta franja no cuenta. Por defecto 50 m."))
    outside_tolerance_m2 = models.FloatField(
        _("área tolerada fuera del municipio (m²)"), default=5_000.0,
        help_text=_("Una zona que sale del municipio (más allá de la franja) más que esta área es una barrera "
                    "para enviar el plan. Por defecto 5 000 m² (0,5 ha)."))
    coverage_min_pct = models.FloatField(
        _("cobertura mínima del municipio (%)"), default=90.0,
        help_text=_("Las zonas deben cubrir al menos este porcentaje del municipio; menos es una barrera. "
                    "Por defecto 90 %."))
    gap_gate_m2 = models.FloatField(
        _("hueco máximo (m²)"), default=10_000.0,
        help_text=_("Un hueco sin zona rodeado por zonas del plan mayor que esta área es una barrera; menor, un "
                    "aviso. Por defecto 10 000 m² (1 ha)."))
    overlap_tolerance_m2 = models.FloatField(
        _("superposición tolerada (m²)"), default=1.0,
        help_text=_("Dos zonas del plan que se superponen más que esta área: el guardado se rechaza (error). "
                    "Por defecto 1 m² (ruido numérico)."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("umbrales de validación POT")
        verbose_name_plural = _("umbrales de validación POT")

    def __str__(self):
        return str(_("Umbrales de validación POT"))

    def save(self, *args, **kwargs):
        self.pk = 1  # a singleton
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "PotRulesSettings":
        obj = cls.objects.filter(pk=1).first()
        return obj if obj is not None else cls(pk=1)


class ReviewComment(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    point = models.PointField(_("ubicación"), srid=4326, null=True, blank=True)
    text = models.TextField(_("texto"))
    plan_version = models.PositiveIntegerField(_("versión comentada"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "created_at"]
        verbose_name = _("comentario de revisión")
        verbose_name_plural = _("comentarios de revisión")

    def __str__(self):
        return self.text[:60]


class ConflictCache(models.Model):
    """One per-plan entry of a conflict mode, keyed by the plan version and the parameters: a
    department-wide report recomputes only the plans saved since the last one. Its findings are
    ConflictRow rows, written set-based by one INSERT … SELECT. Verdicts are not stored (the matrix is
    applied when reading), so editing the matrix needs no purge."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="conflict_cache")
    mode = models.CharField(max_length=20)
    key = models.CharField(max_length=200)  # parameters + determinant signature
    plan_version = models.PositiveIntegerField()
    size_bytes = models.BigIntegerField(default=0)  # stored size of its rows (attributes + geometry), for the cap
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "mode", "key"], name="uniq_conflict_cache")]


class ConflictRow(models.Model):
    """One finding of a cache entry, as the SQL computed it: its columns (``attrs``), its area in m²
    (EPSG:9377) and its geometry kept as PostGIS geometry in EPSG:9377. GeoJSON is produced only for the
    rows a response returns, never when computing (it used to be most of a department's cost)."""

    entry = models.ForeignKey(ConflictCache, on_delete=models.CASCADE, related_name="conflict_rows")
    area_m2 = models.FloatField(null=True)
    attrs = models.JSONField(default=dict)
    # read by id only: no spatial index to maintain on every insert
    geom = models.GeometryField(srid=9377, null=True, spatial_index=False)


class Determinant(models.Model):
    """An environmental determinant (Ley 388 art. 10) the plans must respect, materialised from the
    layers registry or, when that layer is absent, from the raw file it was published in."""

    class Kind(models.TextChoices):
        POLYGON = "polygon", _("Polígonos")
        RONDA = "ronda", _("Ronda hídrica (franja alrededor de cauces)")
        SLOPE = "slope", _("Pendiente alta (derivada del DEM)")

    code = models.SlugField(_("código"), max_length=50, unique=True)
    name = models.CharField(_("nombre"), max_length=200)
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
    description = models.TextField(_("descripción"), blank=True)
    source = models.TextField(_("fuente"), blank=True)
    origin = models.CharField(_("origen de la geometría"), max_length=300, blank=True)
    params = models.JSONField(_("parámetros"), default=dict, blank=True)
    caveat = models.TextField(_("advertencias"), blank=True)
    piece_count = models.PositiveIntegerField(default=0, editable=False)
    loaded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("determinante ambiental")
        verbose_name_plural = _("determinantes ambientales")

    def __str__(self):
        return self.name


class DeterminantPiece(models.Model):
    determinant = models.ForeignKey(Determinant, on_delete=models.CASCADE, related_name="pieces")
    geom_m = models.GeometryField(srid=9377)  # disjoint ST_Subdivide pieces (lines for a ronda)
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("pieza de determinante")
        verbose_name_plural = _("piezas de determinantes")


class DeterminantRule(models.Model):
    """The compatibility matrix soil class × determinant, edited by CVC staff in the admin."""

    determinant = models.ForeignKey(Determinant, on_delete=models.CASCADE, related_name="rules")
    soil_class = models.CharField(_("clase de suelo"), max_length=20, choices=SOIL_CHOICES)
    verdict = models.CharField(_("dictamen"), max_length=15, choices=Verdict.CHOICES)
    note = models.CharField(_("nota"), max_length=300, blank=True)

    class Meta:
        ordering = ["determinant", "soil_class"]
        constraints = [
            models.UniqueConstraint(fields=["determinant", "soil_class"], name="uniq_determinant_rule")
        ]
        verbose_name = _("regla de compatibilidad")
        verbose_name_plural = _("matriz de compatibilidad")

    def __str__(self):
        return f"{self.determinant.code} × {self.soil_class}: {self.verdict}"


__all__ = [
    "PlannerAssignment", "Plan", "Zone", "ZonePiece", "PlanVersion", "ReviewComment", "PlanWaiver",
    "PotRulesSettings",
    "Determinant", "DeterminantPiece", "DeterminantRule", "ConflictCache", "ConflictRow",
]
