"""Department, subregions, municipalities and indicators of the Valle del Cauca.

Geometries are stored in EPSG:4326 (what the web and the exchange formats use); every area and
distance is measured in EPSG:9377 (MAGNA-SIRGAS Origen Nacional) by the services.
"""
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    code = models.CharField(_("código DANE"), max_length=2, unique=True)
    name = models.CharField(_("nombre"), max_length=100)
    geom = models.MultiPolygonField(_("geometría"), srid=4326, null=True, blank=True)
    area_km2 = models.FloatField(_("área (km²)"), null=True, blank=True)

    class Meta:
        verbose_name = _("departamento")
        verbose_name_plural = _("departamentos")

    def __str__(self):
        return self.name


class Subregion(models.Model):
    """A planning subregion. Its members are a planning decision (editable), its geometry derived."""

    code = models.SlugField(_("código"), max_length=30, unique=True)
    name = models.CharField(_("nombre (plan maestro)"), max_length=60, unique=True)
    aliases = ArrayField(
        models.CharField(max_length=60), verbose_name=_("alias (p. ej. DANE)"), default=list, blank=True
    )
    color = models.CharField(_("color"), max_length=7, default="#888888")
    order = models.PositiveSmallIntegerField(_("orden"), default=0)
    assignment_note = models.TextField(_("nota sobre la asignación"), blank=True)
    geom = models.MultiPolygonField(_("geometría (derivada)"), srid=4326, null=True, blank=True, editable=False)
    area_km2 = models.FloatField(_("área (km²)"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("subregión")
        verbose_name_plural = _("subregiones")

    def __str__(self):
        return self.name


class Municipality(models.Model):
    divipola = models.CharField(_("código DIVIPOLA"), max_length=5, unique=True)
    name = models.CharField(_("nombre"), max_length=100)
    official_name = models.CharField(_("nombre oficial (MGN)"), max_length=100)
    subregion = models.ForeignKey(
        Subregion, on_delete=models.PROTECT, related_name="municipalities", verbose_name=_("subregión")
    )
    geom = models.MultiPolygonField(_("límite"), srid=4326)
    geom_simplified = models.MultiPolygonField(_("límite simplificado (visualización)"), srid=4326)
    area_km2 = models.FloatField(_("área calculada (km², EPSG:9377)"))
    official_area_km2 = models.FloatField(_("área oficial DANE (km²)"), null=True, blank=True)
    cabecera_name = models.CharField(_("cabecera municipal"), max_length=100)
    cabecera = models.PointField(_("cabecera (punto)"), srid=4326)
    creation_act = models.CharField(_("acto de creación"), max_length=200, blank=True)
    boundary_source = models.CharField(_("fuente del límite"), max_length=200)

    class Meta:
        ordering = ["name"]
        verbose_name = _("municipio")
        verbose_name_plural = _("municipios")

    def __str__(self):
        return f"{self.name} ({self.divipola})"


class Indicator(models.Model):
    """A quantity measured per municipality and year; new ones arrive by CSV import, not code."""

    code = models.SlugField(_("código"), max_length=60, unique=True)
    name = models.CharField(_("nombre"), max_length=200)
    unit = models.CharField(_("unidad"), max_length=40)
    description = models.TextField(_("descripción"), blank=True)
    source = models.CharField(_("fuente"), max_length=300)
    derived = models.BooleanField(_("calculado por GeoSIG"), default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("indicador")
        verbose_name_plural = _("indicadores")

    def __str__(self):
        return f"{self.name} ({self.unit})"


class IndicatorValue(models.Model):
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values")
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="indicator_values")
    year = models.PositiveSmallIntegerField(_("año"))
    value = models.FloatField(_("valor"))
    source = models.CharField(_("fuente"), max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["indicator", "municipality", "year"], name="uniq_indicator_value")
        ]
        indexes = [models.Index(fields=["indicator", "year"])]
        verbose_name = _("valor de indicador")
        verbose_name_plural = _("valores de indicadores")

    def __str__(self):
        return f"{self.indicator.code} {self.municipality.divipola} {self.year} = {self.value}"
class IndicatorReference(models.Model):
    """The department or national value an indicator is read against, as published (value empty =
    not published: shown as «no publicado», never replaced by a silent average)."""

    SCOPES = [("departamento", _("Departamento")), ("nacional", _("Nacional"))]

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="references")
    year = models.PositiveSmallIntegerField(_("año"))
    scope = models.CharField(_("ámbito"), max_length=20, choices=SCOPES)
    label = models.CharField(_("territorio"), max_length=100)
    value = models.FloatField(_("valor"), null=True, blank=True)
    source = models.CharField(_("fuente"), max_length=300)
    note = models.TextField(_("nota"), blank=True)

    class Meta:
        ordering = ["indicator", "year", "scope"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "year", "scope"], name="uniq_indicator_reference")
        ]
        verbose_name = _("valor de referencia")
        verbose_name_plural = _("valores de referencia")

    def __str__(self):
        return f"{self.indicator.code} {self.year} {self.scope} = {self.value}"


# The POT models live in territorial/pot/models.py but belong to this app: importing them here registers
# them when Django loads territorial's models (and keeps ``from territorial.models import Plan`` working).
from territorial.pot.models import (  # noqa: E402,F401
    ConflictCache, ConflictRow, Determinant, DeterminantPiece, DeterminantRule, Plan, PlannerAssignment, PlanVersion,
    PlanWaiver, PotRulesSettings, ReviewComment, Zone, ZonePiece,
)

__all__ = ["Department", "Subregion", "Municipality", "Indicator", "IndicatorValue", "IndicatorReference",
           "PlannerAssignment", "Plan", "Zone", "ZonePiece", "PlanVersion", "ReviewComment", "PlanWaiver",
           "PotRulesSettings", "Determinant", "DeterminantPiece", "DeterminantRule", "ConflictCache", "ConflictRow"]
