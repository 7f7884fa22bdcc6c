"""Registry of environmental layers.

Storage decisions (see docs in the README section of the layers app):

* Vector features live in PostGIS (``Feature``), one row per feature, geometry in EPSG:4326 with a GiST
  index. Attributes are kept as JSON (``attributes``) because every uploaded layer has its own schema:
  typed columns would need a table (and a migration) per upload. The attribute that drives the style
  and the overlay classes is copied to the indexed ``class_value`` column, and each feature keeps its
  area/length measured once in EPSG:9377, so overlays only cut the features that cross the polygon edge.
* Rasters are Cloud-Optimized GeoTIFFs (EPSG:4326, internal tiles + overviews) under
  ``MEDIA_ROOT/layers/``, with their metadata in ``Layer.raster_meta``. A COG is read window by window
  for PNG tiles, feeds ``exactextract`` directly for exact zonal statistics, and downloads as the
  GeoTIFF users asked for; PostGIS raster would duplicate the file in the database and make tiles and
  downloads slower.
"""
from pathlib import Path

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class Theme(models.TextChoices):
    HIDROGRAFIA = "hidrografia", _("Hidrografía")
    AREAS_PROTEGIDAS = "areas_protegidas", _("Áreas protegidas")
    ECOSISTEMAS = "ecosistemas", _("Ecosistemas")
    RELIEVE = "relieve", _("Relieve")
    AMENAZAS = "amenazas", _("Amenazas y riesgos")
    INFRAESTRUCTURA = "infraestructura", _("Infraestructura")
    ASENTAMIENTOS = "asentamientos", _("Asentamientos")
    ORDENAMIENTO = "ordenamiento", _("Ordenamiento territorial")
    OTRO = "otro", _("Otro")


class Layer(models.Model):
    class Kind(models.TextChoices):
        VECTOR = "vector", _("Vectorial")
        RASTER = "raster", _("Ráster")

    class GeometryType(models.TextChoices):
        POINT = "point", _("Puntos")
        LINE = "line", _("Líneas")
        POLYGON = "polygon", _("Polígonos")
        RASTER = "raster", _("Ráster")

    slug = models.SlugField(_("identificador"), max_length=80, unique=True)
    title = models.CharField(_("título"), max_length=200)
    description = models.TextField(_("descripción"), blank=True)
    theme = models.CharField(_("tema"), max_length=30, choices=Theme.choices, default=Theme.OTRO)
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
    geometry_type = models.CharField(_("tipo de geometría"), max_length=10, choices=GeometryType.choices)
    source = models.TextField(_("fuente"), blank=True)
    licence = models.CharField(_("licencia"), max_length=200, blank=True)
    data_date = models.CharField(_("fecha de los datos"), max_length=60, blank=True)
    source_crs = models.CharField(_("CRS de origen"), max_length=120, blank=True)
    source_format = models.CharField(_("formato de origen"), max_length=40, blank=True)
    source_file = models.CharField(_("archivo de origen"), max_length=300, blank=True)
    feature_count = models.PositiveIntegerField(_("número de elementos"), default=0)
    extent = models.PolygonField(_("extensión"), srid=4326, null=True, blank=True)
    fields = models.JSONField(_("atributos"), default=list, blank=True)  # [{"name", "type"}]
    class_field = models.CharField(_("atributo de clase"), max_length=100, blank=True)
    label_field = models.CharField(_("atributo de etiqueta"), max_length=100, blank=True)
    style = models.JSONField(_("estilo"), default=dict, blank=True)
    is_demo = models.BooleanField(_("datos de demostración"), default=False)
    is_derived = models.BooleanField(_("capa derivada"), default=False)
    derivation_note = models.TextField(_("cómo se derivó"), blank=True)
    is_partial = models.BooleanField(_("cobertura parcial"), default=False)
    caveat = models.TextField(_("advertencias"), blank=True)
    raster_file = models.CharField(_("archivo ráster (relativo a MEDIA_ROOT)"), max_length=300, blank=True)
    raster_meta = models.JSONField(_("metadatos del ráster"), default=dict, blank=True)
    import_report = models.JSONField(_("informe de importación"), default=dict, blank=True)
    visible_by_default = models.BooleanField(_("visible al abrir el mapa"), default=False)
    order = models.IntegerField(_("orden"), default=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "title"]
        verbose_name = _("capa")
        verbose_name_plural = _("capas")
        permissions = [("upload_layer", _("Puede subir capas ambientales"))]

    def __str__(self):
        return self.title

    @property
    def raster_path(self):
        return Path(settings.MEDIA_ROOT) / self.raster_file if self.raster_file else None


class Feature(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="features")
    fid = models.PositiveIntegerField(_("orden en el origen"))
    geom = models.GeometryField(_("geometría"), srid=4326, spatial_index=True)
    # The same geometry in EPSG:9377, stored once at import: overlays cut features at the polygon edge
    # in the measuring CRS without re-projecting each feature on every request (half the overlay cost).
    geom_measure = models.GeometryField(_("geometría (EPSG:9377)"), srid=9377, spatial_index=False, null=True)
    attributes = models.JSONField(_("atributos"), default=dict)
    class_value = models.CharField(_("clase"), max_length=200, blank=True)
    area_m2 = models.FloatField(_("área (m², EPSG:9377)"), null=True, blank=True)
    length_m = models.FloatField(_("longitud (m, EPSG:9377)"), null=True, blank=True)

    class Meta:
        ordering = ["layer", "fid"]
        indexes = [models.Index(fields=["layer", "class_value"])]
        verbose_name = _("elemento")
        verbose_name_plural = _("elementos")

    def __str__(self):
        return f"{self.layer.slug}#{self.fid}"


class FeaturePiece(models.Model):
    """ST_Subdivide pieces (≤ 256 vertices) of a polygon feature's EPSG:9377 geometry, stored at import: an
    overlay measures the pieces wholly inside the area as they are and cuts only the small pieces crossing its
    edge, instead of one whole detailed polygon (a protected area of 10⁵ vertices) per request."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="pieces")
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="+")
    geom = models.GeometryField(_("pieza (EPSG:9377)"), srid=9377, spatial_index=True)

    class Meta:
        indexes = [models.Index(fields=["layer"])]
        verbose_name = _("pieza de elemento")
        verbose_name_plural = _("piezas de elementos")


class PartitionPiece(models.Model):
    """A stored piece (``FeaturePiece``) within one member of a reporting partition (``layers.partitions``): a
    piece wholly inside the member is tagged (``geom`` NULL, ``area`` its own), one crossing the member's edge is
    cut there (``geom`` the part inside, possibly several rows). Summing ``area`` per member and class gives the
    overlay of the layer with every member exactly, with no cut at request time."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="+")
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    piece = models.ForeignKey(FeaturePiece, on_delete=models.CASCADE, related_name="+")
    partition = models.CharField(_("partición"), max_length=40)
    member = models.CharField(_("miembro"), max_length=60)
    geom = models.GeometryField(_("parte cortada (EPSG:9377)"), srid=9377, spatial_index=False, null=True)
    area = models.FloatField(_("área (m², EPSG:9377)"))

    class Meta:
        indexes = [models.Index(fields=["partition", "layer", "member"])]
        verbose_name = _("pieza por partición")
        verbose_name_plural = _("piezas por partición")


class PartitionBuild(models.Model):
    """That a layer's pieces are pre-cut along a partition (a layer may lie outside every member: no pieces, but
    built); without it an overlay over the partition's members cuts at request time."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="+")
    partition = models.CharField(_("partición"), max_length=40)
    built_at = models.DateTimeField(_("construida"), auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["layer", "partition"], name="partition_build_once")]
        verbose_name = _("partición construida")
        verbose_name_plural = _("particiones construidas")


from layers.corridors.models import CorridorRun  # noqa: E402,F401  (corridors, issue 6)
from layers.connectivity.models import ConnectivityRun  # noqa: E402,F401  (Omniscape runs, issue 10)
