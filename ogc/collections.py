"""The collections the OGC APIs serve, from a registry of providers (one per app that owns the data).

Each provider returns ``Collection`` descriptions built from the project's own models: the queryset of a
collection is the one the rest of the site uses for the same user (POT zones go through
``territorial.pot.services.access.plans_visible_to`` and then keep only the approved, current plans), so
the OGC service can never show what the pages hide. Layers of the registry appear and disappear with
their rows: the list is rebuilt whenever the registry's version (count + last ``updated_at``) changes,
without a restart. The ``plan`` app's monitoring projects are a provider only when that app is installed.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from django.apps import apps
from django.contrib.gis.db.models import Extent
from django.db import DatabaseError, connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils.translation import gettext as _

from geosig.errors import NotFound

# JSON Schema types of the properties; 'datetime' columns are strings with format date-time
STRING, NUMBER, INTEGER, BOOLEAN, DATETIME = "string", "number", "integer", "boolean", "date-time"
LAYER_TYPES = {"str": STRING, "int32": INTEGER, "int64": INTEGER, "float64": NUMBER, "float32": NUMBER,
               "bool": BOOLEAN, "datetime64[ms]": DATETIME, "date": DATETIME}
VALLE_BBOX = (-77.6, 3.05, -75.68, 5.05)  # when a collection has no stored extent


@dataclass
class Collection:
    id: str
    title: str
    description: str
    queryset: Callable  # user → QuerySet (visibility applied)
    geom: str  # geometry field path (EPSG:4326)
    id_field: str
    properties: dict  # output name → field path or expression
    types: dict  # output name → STRING/NUMBER/INTEGER/BOOLEAN/DATETIME
    geometry_type: str = "geometry"  # point, line, polygon, geometry
    keywords: list = field(default_factory=list)
    temporal: str | None = None  # path of the instant that ``datetime`` filters
    attributes: str | None = None  # JSON field whose keys are more properties (uploaded layers)
    attribute_types: dict = field(default_factory=dict)
    bbox: tuple | None = None
    interval: tuple | None = None  # (start, end) ISO strings or None
    layer: object = None  # the layers.Layer behind it (tiles, records)
    source: str = ""
    licence: str = ""
    lineage: str = ""
    is_demo: bool = False
    is_partial: bool = False

    def queryables(self) -> dict:
        return {**self.types, **self.attribute_types}


def _municipalities():
    from territorial.models import Municipality

    def qs(user):
        return Municipality.objects.all()

    return [Collection(
        "municipios", _("Municipios del Valle del Cauca"),
        _("Los 42 municipios (DANE MGN 2021, generalizado) con código DIVIPOLA, subregión del plan maestro y área "
          "calculada en EPSG:9377 (km²) junto al área oficial."),
        qs, "geom", "divipola",
        {"divipola": "divipola", "name": "name", "official_name": "official_name", "subregion": "subregion__name",
         "subregion_code": "subregion__code", "area_km2": "area_km2", "official_area_km2": "official_area_km2",
         "cabecera": "cabecera_name"},
        {"divipola": STRING, "name": STRING, "official_name": STRING, "subregion": STRING, "subregion_code": STRING,
         "area_km2": NUMBER, "official_area_km2": NUMBER, "cabecera": STRING},
        "polygon", ["municipios", "DIVIPOLA", "límites", "Valle del Cauca"],
        source="DANE, Marco Geoestadístico Nacional 2021", licence="CC BY 4.0 (DANE)",
        lineage=_("Límites DANE MGN 2021 generalizados; áreas medidas en MAGNA-SIRGAS Origen Nacional (EPSG:9377)."),
    ), Collection(
        "subregiones", _("Subregiones de planeación"),
        _("Las cinco subregiones del plan maestro; la geometría es la unión de sus municipios."),
        lambda user: apps.get_model("territorial", "Subregion").objects.all(), "geom", "code",
        {"code": "code", "name": "name", "area_km2": "area_km2"},
        {"code": STRING, "name": STRING, "area_km2": NUMBER},
        "polygon", ["subregiones", "planeación", "Valle del Cauca"],
        source="GeoSIG Valle (asignación editable de municipios)", licence="CC BY 4.0",
        lineage=_("Unión de los límites municipales DANE MGN 2021 según la asignación vigente."),
    )]


def _cities():
    from cities.models import City

    props = {"code": "code", "name": "name", "kind": "kind", "is_cabecera": "is_cabecera",
             "divipola": "municipality__divipola", "municipality": "municipality__name", "source": "source"}
    types = {"code": STRING, "name": STRING, "kind": STRING, "is_cabecera": BOOLEAN, "divipola": STRING,
             "municipality": STRING, "source": STRING}
    common = dict(geom="geom", id_field="code", properties=props, types=types, geometry_type="point",
                  source="DANE, DIVIPOLA 2017 (centros poblados)", licence="CC BY 4.0 (DANE)",
                  lineage=_("Centros poblados DIVIPOLA 2017 del DANE, sin población por centro poblado."))
    return [
        Collection("centros-poblados", _("Centros poblados (DIVIPOLA)"),
                   _("Los 569 centros poblados del Valle: cabeceras municipales, de corregimiento, caseríos e "
                     "inspecciones de policía."), lambda user: City.objects.all(),
                   keywords=["centros poblados", "DIVIPOLA", "asentamientos"], **common),
        Collection("cabeceras", _("Cabeceras municipales"), _("Las 42 cabeceras municipales (DIVIPOLA)."),
                   lambda user: City.objects.filter(is_cabecera=True),
                   keywords=["cabeceras", "DIVIPOLA", "asentamientos"], **common),
    ]


def _pot_zones():
    from territorial.models import PlanVersion, Zone
    from territorial.pot.classes import Status
    from territorial.pot.services.access import plans_visible_to

    def qs(user):
        # the site's own visibility rule, then only the current approved plans: drafts never appear
        plans = plans_visible_to(user).filter(status=Status.APROBADA)
        approved_at = PlanVersion.objects.filter(plan=OuterRef("plan_id"), status=Status.APROBADA) \
            .order_by("-created_at").values("created_at")[:1]
        return Zone.objects.filter(plan__in=plans).annotate(ogc_approved=Subquery(approved_at))

    return [Collection(
        "pot-zonas", _("Zonificación POT aprobada"),
        _("Zonas de los planes POT aprobados y vigentes (clase de suelo, plan y versión). Los borradores y los "
          "planes en revisión nunca aparecen."), qs, "geom", "id",
        {"soil_class": "soil_class", "use_category": "use_category", "name": "name", "area_m2": "area_m2",
         "plan_id": "plan_id", "plan": "plan__name", "plan_version": "plan__version",
         "divipola": "plan__municipality__divipola", "municipality": "plan__municipality__name",
         "is_demo": "plan__is_demo", "approved_at": F("ogc_approved")},
        {"soil_class": STRING, "use_category": STRING, "name": STRING, "area_m2": NUMBER, "plan_id": INTEGER,
         "plan": STRING, "plan_version": INTEGER, "divipola": STRING, "municipality": STRING, "is_demo": BOOLEAN,
         "approved_at": DATETIME},
        "polygon", ["POT", "ordenamiento territorial", "clase de suelo", "Ley 388"], temporal="ogc_approved",
        source="Planes POT municipales revisados por la CVC en GeoSIG Valle", licence="CC BY 4.0",
        lineage=_("Zonas dibujadas por los planificadores municipales y aprobadas por la CVC; los planes de "
                  "demostración llevan is_demo=true (DEMO)."),
    )]


def _layers():
    from layers.models import Feature, Layer

    out = []
    for layer in Layer.objects.filter(kind=Layer.Kind.VECTOR).order_by("order", "title"):
        attr_types = {f["name"]: LAYER_TYPES.get(f.get("type"), STRING) for f in layer.fields
                      if isinstance(f, dict) and f.get("name")}
        flags = [w for w, on in (("DEMO", layer.is_demo), (_("PARCIAL"), layer.is_partial),
                                 (_("derivada"), layer.is_derived)) if on]
        out.append(Collection(
            f"capa-{layer.slug}", layer.title + (f" ({', '.join(flags)})" if flags else ""),
            layer.description or layer.title,
            (lambda pk: lambda user: Feature.objects.filter(layer_id=pk))(layer.pk), "geom", "fid",
            {"fid": "fid", "class": "class_value"}, {"fid": INTEGER, "class": STRING},
            layer.geometry_type, [layer.get_theme_display(), layer.slug], attributes="attributes",
            attribute_types=attr_types, bbox=layer.extent.extent if layer.extent else None, layer=layer,
            source=layer.source, licence=layer.licence, is_demo=layer.is_demo, is_partial=layer.is_partial,
            lineage=" ".join(x for x in (layer.derivation_note, layer.caveat) if x),
        ))
    return out


def _plan_projects():
    """The plan app's monitoring projects (PLAN-CONTRACT: ``published_projects_queryset()``), when installed."""
    if not apps.is_installed("plan"):
        return []
    import importlib

    for module in ("plan.services.queries", "plan.services"):
        try:
            fn = getattr(importlib.import_module(module), "published_projects_queryset", None)
        except ImportError:
            continue
        if fn is not None:
            return [_model_collection("proyectos-plan", _("Proyectos del plan (seguimiento)"),
                                      _("Proyectos publicados del seguimiento del plan."), fn)]
    return []


def _model_collection(cid, title, description, queryset_fn):
    """A collection of any model with one geometry field: its plain concrete fields become the properties."""
    from django.contrib.gis.db.models import GeometryField
    from django.db import models as dj

    model = queryset_fn().model
    geom, props, types = None, {}, {}
    kinds = {dj.IntegerField: INTEGER, dj.FloatField: NUMBER, dj.DecimalField: NUMBER, dj.BooleanField: BOOLEAN,
             dj.DateTimeField: DATETIME, dj.DateField: DATETIME, dj.CharField: STRING, dj.TextField: STRING}
    for f in model._meta.concrete_fields:
        if isinstance(f, GeometryField):
            geom = geom or f.name
        elif f.is_relation:
            continue
        else:
            kind = next((t for k, t in kinds.items() if isinstance(f, k)), None)
            if kind:
                props[f.name], types[f.name] = f.name, kind
    if geom is None:
        return None
    temporal = next((n for n, t in types.items() if t == DATETIME), None)
    return Collection(cid, title, description, lambda user: queryset_fn(), geom, "pk", props, types,
                      temporal=temporal, keywords=["plan", "seguimiento"])


PROVIDERS: list[Callable[[], list]] = [_municipalities, _cities, _pot_zones, _layers, _plan_projects]

_cache: dict = {}
_lock = threading.Lock()


VERSION_SQL = """
SELECT (SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM layers_layer),
       (SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM territorial_plan WHERE status = 'aprobada')
"""


def registry_version() -> tuple:
    """Changes when a layer is imported, replaced or deleted, or a plan approved or replaced (one query)."""
    with connection.cursor() as cur:
        cur.execute(VERSION_SQL)
        return cur.fetchone()


def all_collections() -> dict[str, Collection]:
    version = registry_version()
    with _lock:
        hit = _cache.get("collections")
        if hit and hit[0] == version:
            return hit[1]
    out = {}
    for provider in PROVIDERS:
        for c in provider():
            if c is not None:
                out[c.id] = c
    for c in out.values():
        if c.bbox is None:
            c.bbox = _extent(c)
    with _lock:
        _cache["collections"] = (version, out)
    return out


def _extent(c: Collection):
    try:
        with transaction.atomic():  # a provider's table that cannot be aggregated must not break the request
            box = c.queryset(None).aggregate(e=Extent(c.geom))["e"]
    except DatabaseError:
        box = None
    return tuple(box) if box else VALLE_BBOX


def get(collection_id: str) -> Collection:
    c = all_collections().get(collection_id)
    if c is None:
        raise NotFound(_("No existe la colección «%(id)s».") % {"id": str(collection_id)[:80]})
    return c
