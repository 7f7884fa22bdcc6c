"""Cities (DANE centros poblados), travel matrices, urban-function inventories and scenarios.

There is no population per centro poblado in the shared data: populations stay in the territorial
indicators (per municipality), so the balance is computed over the 42 municipal cabeceras and the other
centros poblados take part only as places (map, access to intermediate cities).
"""
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.utils.translation import gettext_lazy as _


class City(models.Model):
    """A DANE centro poblado (DIVIPOLA 2017): a cabecera municipal or another populated place."""

    KINDS = {
        "CM": _("Cabecera municipal"),
        "C": _("Cabecera de corregimiento"),
        "CP": _("Centro poblado"),
        "CAS": _("Caserío"),
        "IP": _("Cabecera de inspección de policía"),
    }

    code = models.CharField(_("código de centro poblado (DIVIPOLA)"), max_length=8, unique=True)
    name = models.CharField(_("nombre"), max_length=150)
    kind = models.CharField(_("tipo"), max_length=4, choices=list(KINDS.items()))
    is_cabecera = models.BooleanField(_("cabecera municipal"), default=False)
    municipality = models.ForeignKey(
        "territorial.Municipality", on_delete=models.PROTECT, related_name="cities", verbose_name=_("municipio")
    )
    geom = models.PointField(_("ubicación"), srid=4326)
    source = models.CharField(_("fuente"), max_length=300)

    class Meta:
        ordering = ["code"]
        verbose_name = _("centro poblado")
        verbose_name_plural = _("centros poblados")

    def __str__(self):
        return f"{self.name} ({self.code})"


class TravelMatrix(models.Model):
    """A square, symmetric matrix of travel times (h) or distances (km) between municipalities.

    Matrices keep their history: importing under an existing name adds version n+1 and leaves the
    earlier ones; a name means its newest version; the default (the balance without ``matrix=``) is one
    row and moves only when an import asks for it."""

    KIND_TIME, KIND_DISTANCE = "time", "distance"
    KINDS = {KIND_TIME: _("tiempo de viaje (h)"), KIND_DISTANCE: _("distancia (km)")}

    name = models.SlugField(_("nombre"), max_length=60)
    version = models.PositiveIntegerField(_("versión"), default=1)
    kind = models.CharField(_("tipo"), max_length=10, choices=list(KINDS.items()), default=KIND_TIME)
    unit = models.CharField(_("unidad"), max_length=10, default="h")
    description = models.TextField(_("descripción"), blank=True)
    source = models.CharField(_("fuente"), max_length=300)
    is_default = models.BooleanField(_("matriz por defecto"), default=False)
    codes = ArrayField(models.CharField(max_length=5), verbose_name=_("códigos DIVIPOLA (orden de filas)"))
    # Row-major n×n values: one row, one transaction, no half-saved matrix.
    values = ArrayField(models.FloatField(), verbose_name=_("valores (fila por fila)"))
    created = models.DateTimeField(_("creada"), auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="uniq_matrix_version")]
        verbose_name = _("matriz de viaje")
        verbose_name_plural = _("matrices de viaje")
        # the import role (group «Analista CVC», migration 0002): matrices, inventories and attributes feed
        # every balance report, so loading them is not a matter of having admin access
        permissions = [("import_city_data", _("Puede importar datos del sistema de ciudades"))]

    def __str__(self):
        return f"{self.name} v{self.version}"


class FunctionInventory(models.Model):
    """A named, imported inventory of urban functions (hospitals, universities, ...). Like matrices, a
    re-import under the same name adds a version; a name means its newest version."""

    name = models.SlugField(_("nombre"), max_length=60)
    version = models.PositiveIntegerField(_("versión"), default=1)
    source = models.CharField(_("fuente"), max_length=300)
    is_demo = models.BooleanField(_("datos de demostración"), default=False)
    created = models.DateTimeField(_("importado"), auto_now_add=True)

    class Meta:
        ordering = ["-created", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="uniq_inventory_version")]
        verbose_name = _("inventario de funciones urbanas")
        verbose_name_plural = _("inventarios de funciones urbanas")

    def __str__(self):
        return f"{self.name} v{self.version}" + (" (DEMO)" if self.is_demo else "")


class CityFunction(models.Model):
    inventory = models.ForeignKey(FunctionInventory, on_delete=models.CASCADE, related_name="items")
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="functions")
    function = models.CharField(_("función"), max_length=100)
    count = models.PositiveIntegerField(_("cantidad"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inventory", "city", "function"], name="uniq_city_function")
        ]


class CityAttribute(models.Model):
    """A user-imported attribute of a centro poblado (e.g. a local population count)."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="attributes")
    attribute = models.SlugField(_("atributo"), max_length=60)
    year = models.PositiveSmallIntegerField(_("año"))
    value = models.FloatField(_("valor"))
    unit = models.CharField(_("unidad"), max_length=40)
    source = models.CharField(_("fuente"), max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["city", "attribute", "year"], name="uniq_city_attribute")
        ]


class Scenario(models.Model):
    """A named population projection to a horizon year (the plan's trend / optimistic / pessimistic)."""

    KINDS = {"trend": _("tendencial"), "optimistic": _("optimista"), "pessimistic": _("pesimista")}

    name = models.SlugField(_("nombre"), max_length=60, unique=True)
    kind = models.CharField(_("tipo"), max_length=12, choices=list(KINDS.items()))
    horizon_year = models.PositiveSmallIntegerField(_("año horizonte"))
    description = models.TextField(_("descripción"), blank=True)
    created = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("escenario")
        verbose_name_plural = _("escenarios")

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()}, {self.horizon_year})"


class ScenarioAdjustment(models.Model):
    """Growth adjustment in percentage points per year for a subregion or a municipality.

    A municipality's own adjustment replaces its subregion's (the more specific one wins).
    """

    TARGETS = {"subregion": _("subregión"), "municipality": _("municipio")}

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="adjustments")
    target_type = models.CharField(_("ámbito"), max_length=12, choices=list(TARGETS.items()))
    target_code = models.CharField(_("código"), max_length=30)
    growth_pp = models.FloatField(_("ajuste de crecimiento (puntos porcentuales/año)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scenario", "target_type", "target_code"], name="uniq_scenario_target")
        ]
