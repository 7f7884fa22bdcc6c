"""The catalogue (OGC API – Records): one record per layer, indicator, served collection and corridor run.

A record carries what the ICDE / NTC 4611 profile asks of a dataset and the project knows: title,
abstract, keywords, spatial and temporal extent, lineage (source, derivation note, PARCIAL/DEMO flags),
licence, contact and dates. Nothing is invented: a field the data lacks stays empty. Records are built from
the registry rows on each request (a few dozen rows), filtered here, and written as GeoJSON records or as
ISO 19139 XML (``ogc.services.iso19139``).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.contrib.gis.db.models import Extent
from django.db.models import Max, Min
from django.utils.translation import gettext as _

from geosig.errors import NotFound
from ogc import collections as registry

CONTACT = {"organization": "GeoSIG Valle — Gobernación del Valle del Cauca / CVC", "roles": ["pointOfContact"]}
CATALOGUE_ID = "catalogo"


@dataclass
class Record:
    id: str
    type: str  # dataset, service (ISO MD_ScopeCode)
    title: str
    description: str
    keywords: list
    bbox: tuple | None
    interval: tuple | None  # (start, end) ISO dates/strings, None if unknown
    source: str = ""
    lineage: str = ""
    licence: str = ""
    created: str | None = None
    updated: str | None = None
    flags: list = field(default_factory=list)  # DEMO, PARCIAL, derivada
    crs: str = "EPSG:4326"
    links: list = field(default_factory=list)  # (rel, href path relative to /ogc/, type, title)
    theme: str = ""

    def text(self) -> str:
        return _fold(" ".join([self.title, self.description, " ".join(self.keywords), self.source]))


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKD", s or "").encode("ascii", "ignore").decode().lower()


def _iso(d):
    return d.isoformat() if d else None


def date_interval(text: str) -> tuple | None:
    """The time a free-text data date states: a full date (2020-09-08 (ingreso)) or a year (POT 2014 → that
    year); None when it names none (the record then has no temporal extent rather than an invented one)."""
    if not text:
        return None
    m = re.search(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b", text)
    if m:
        return m.group(0), m.group(0)
    m = re.search(r"\b((?:19|20)\d\d)\b", text)
    return (f"{m.group(1)}-01-01", f"{m.group(1)}-12-31") if m else None


def _layer_records() -> list[Record]:
    from layers.models import Layer

    out = []
    for layer in Layer.objects.all():
        flags = [w for w, on in (("DEMO", layer.is_demo), ("PARCIAL", layer.is_partial),
                                 ("derivada", layer.is_derived)) if on]
        lineage = " ".join(x for x in (
            _("Fuente: %(s)s.") % {"s": layer.source} if layer.source else "",
            _("Derivación: %(d)s") % {"d": layer.derivation_note} if layer.derivation_note else "",
            _("Advertencias: %(c)s") % {"c": layer.caveat} if layer.caveat else "",
            _("Cobertura parcial.") if layer.is_partial else "",
            _("Datos de demostración (DEMO).") if layer.is_demo else "",
            # rasters keep their source grid and CRS (COG); vector features are stored in EPSG:4326
            (_("Importado de %(f)s (%(fmt)s, CRS de origen %(crs)s), guardado en su propia grilla y CRS (COG).")
             if layer.kind == Layer.Kind.RASTER else
             _("Importado de %(f)s (%(fmt)s, CRS de origen %(crs)s), guardado en EPSG:4326."))
            % {"f": layer.source_file or "—", "fmt": layer.source_format or "—", "crs": layer.source_crs or "—"},
        ) if x)
        cid = f"capa-{layer.slug}"
        links = [("collection", f"collections/{cid}", "application/json", _("Colección OGC"))]
        if layer.kind == Layer.Kind.VECTOR:
            links.append(("items", f"collections/{cid}/items", "application/geo+json", _("Elementos (GeoJSON)")))
        links.append(("tiles", f"collections/{cid}/tiles", "application/json", _("Teselas")))
        out.append(Record(
            cid, "dataset", layer.title, layer.description or layer.title,
            [str(layer.get_theme_display()), layer.get_kind_display(), *flags], layer.extent.extent if layer.extent else None,
            date_interval(layer.data_date), layer.source, lineage, layer.licence,
            _iso(layer.created_at), _iso(layer.updated_at), flags, links=links, theme=layer.theme,
        ))
    return out


def _collection_records() -> list[Record]:
    out = []
    for c in registry.all_collections().values():
        if c.layer is not None:
            continue  # layers have their own (richer) record
        lineage = " ".join(x for x in (_("Fuente: %(s)s.") % {"s": c.source} if c.source else "", c.lineage) if x)
        out.append(Record(
            f"coleccion-{c.id}", "dataset", c.title, c.description, list(c.keywords), c.bbox, None, c.source,
            lineage, c.licence, links=[("collection", f"collections/{c.id}", "application/json", _("Colección OGC")),
                                       ("items", f"collections/{c.id}/items", "application/geo+json",
                                        _("Elementos (GeoJSON)"))]))
    return out


def _indicator_records() -> list[Record]:
    from territorial.models import Indicator, Municipality

    box = Municipality.objects.aggregate(e=Extent("geom"))["e"]
    out = []
    for ind in Indicator.objects.annotate(y0=Min("values__year"), y1=Max("values__year")):
        out.append(Record(
            f"indicador-{ind.code}", "dataset", ind.name, ind.description or f"{ind.name} ({ind.unit})",
            ["indicador", ind.unit, "municipios"], box,
            (f"{ind.y0}-01-01", f"{ind.y1}-12-31") if ind.y0 else None, ind.source,
            _("Fuente: %(s)s.") % {"s": ind.source} + (" " + _("Calculado por GeoSIG a partir de otros indicadores.")
                                                        if ind.derived else ""),
            flags=["derivada"] if ind.derived else [],
            links=[("alternate", f"../api/v1/indicators/?code={ind.code}", "application/json", _("Valores (API)")),
                   ("enclosure", f"../api/v1/downloads/indicators.csv?code={ind.code}", "text/csv", "CSV")]))
    return out


def _corridor_records() -> list[Record]:
    from layers.corridors.models import CorridorRun

    out = []
    for run in CorridorRun.objects.filter(status=CorridorRun.Status.DONE).order_by("-finished_at")[:50]:
        out.append(Record(
            f"corredores-{run.pk}", "dataset", _("Corredores ecológicos, corrida %(id)s") % {"id": run.pk},
            _("Resultado de análisis: corredores de menor costo, densidad de corriente y métricas de la red de núcleos."),
            ["corredores", "conectividad", "análisis"], None, (_iso(run.finished_at), _iso(run.finished_at)),
            "GeoSIG Valle", _("Derivada: motor de corredores de GeoSIG (método de Linkage Mapper) con los parámetros "
                              "guardados en la corrida; la resistencia por defecto es un supuesto rotulado."),
            created=_iso(run.created_at), updated=_iso(run.finished_at), flags=["derivada"],
            links=[("alternate", f"../api/v1/corridors/{run.pk}/results/", "application/json", _("Resultados"))]))
    return out


RECORD_PROVIDERS = [_collection_records, _layer_records, _indicator_records, _corridor_records]


def all_records() -> list[Record]:
    return [r for provider in RECORD_PROVIDERS for r in provider()]


def get(record_id: str) -> Record:
    for r in all_records():
        if r.id == record_id:
            return r
    raise NotFound(_("No existe el registro «%(id)s» en el catálogo.") % {"id": str(record_id)[:80]})


def search(records, *, q: list[str] | None = None, bbox=None, types=None, interval=None) -> list[Record]:
    """``q``: every record whose text contains any of the words (accents and case ignored); ``bbox``:
    records whose extent meets it; ``types``: record types; ``interval``: records whose time meets it."""
    out = []
    words = [_fold(w) for w in (q or []) if w.strip()]
    for r in records:
        if words and not any(w in r.text() for w in words):
            continue
        if types and r.type not in types:
            continue
        if bbox is not None:
            if r.bbox is None:
                continue
            x0, y0, x1, y1 = bbox
            if r.bbox[2] < x0 or r.bbox[0] > x1 or r.bbox[3] < y0 or r.bbox[1] > y1:
                continue
        if interval is not None and not _meets(r.interval, interval):
            continue
        out.append(r)
    return out


def _meets(record_interval, interval) -> bool:
    if not record_interval:
        return False
    start, end = interval
    r0, r1 = (str(v)[:10] if v else None for v in record_interval)
    if r0 is None or not r0[:4].isdigit():
        return False
    return (end is None or r0 <= end.date().isoformat()) and (start is None or (r1 or r0) >= start.date().isoformat())
