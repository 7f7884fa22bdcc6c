"""Thin API views of the territorial registry: parse the request, call a service, shape the answer."""
import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from django.utils.translation import gettext
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig import formats, params, versioned
from geosig import openapi as api_doc
from geosig.openapi import BOOL_QUERY, FEATURE, FEATURE_COLLECTION, INT, NUM, STR, array, errors, nullable, obj
from geosig.errors import InvalidParameter
from territorial.models import Subregion
from territorial.services import exports, queries, search

P = OpenApiParameter
VERSION_NS = "territorial"

MUNICIPALITY = obj({"type": STR, "id": STR, "geometry": api_doc.GEOMETRY, "properties": obj({
    "divipola": STR, "name": STR, "subregion": STR, "subregion_code": STR, "area_km2": NUM,
    "official_area_km2": nullable(NUM), "cabecera": STR, "cabecera_lonlat": array(NUM),
    "population": nullable(NUM), "population_year": INT, "indicators": api_doc.OBJ,
    "census_not_available": array(INT)})})
REFERENCE = obj({"scope": {**STR, "enum": ["departamento", "nacional"]}, "label": STR, "value": nullable(NUM),
                 "published": api_doc.BOOL, "source": STR, "note": STR},
                ["scope", "label", "value", "published", "source"])
INDICATOR_VALUES = obj({
    "indicator": obj({"code": STR, "name": STR, "unit": STR, "source": STR, "description": STR}),
    "year": nullable(INT), "years": array(INT), "unit": STR, "source": STR,
    "values": array(obj({"divipola": STR, "name": STR, "value": NUM, "source": STR})),
    "references": array(REFERENCE)})
_NAMED = obj({"name": STR})
LOCATE = obj({"inside": api_doc.BOOL, "lon": NUM, "lat": NUM, "municipality": _NAMED, "subregion": _NAMED,
              "nearest": obj({"divipola": STR, "name": STR, "distance_km": NUM}), "detail": STR},
             ["inside", "lon", "lat"])


class MunicipalityList(APIView):
    @extend_schema(
        summary="Municipios del Valle (GeoJSON FeatureCollection)",
        parameters=[
            P("subregion", str, description="código o nombre de subregión (norte, centro, sur, nororiente, buenaventura)"),
            P("bbox", str, description="minlon,minlat,maxlon,maxlat (EPSG:4326)"),
            P("simplified", BOOL_QUERY, description="geometría simplificada para visualización"),
        ],
        responses={(200, "application/geo+json"): FEATURE_COLLECTION, **api_doc.NOT_MODIFIED, **errors()},
    )
    def get(self, request):
        q = request.query_params
        # parsed values (not the raw text) make the cache key: "sí" and "true" share one entry
        subregion = params.text(q.get("subregion"), "subregion", max_length=60)
        bbox = params.bbox(q.get("bbox"))
        simplified = params.boolean(q.get("simplified"), "simplified")
        queries.municipalities_queryset(subregion, bbox)  # validate parameters before any cache lookup
        entry = versioned.memo(
            VERSION_NS, ("municipalities", subregion, bbox, simplified),
            lambda: queries.municipalities_geojson(subregion=subregion, bbox=bbox, simplified=simplified),
        )
        return versioned.respond(request, entry, "application/geo+json")


class MunicipalityDetail(APIView):
    @extend_schema(summary="Un municipio (GeoJSON Feature) con sus series de indicadores",
                   operation_id="municipality_detail",
                   parameters=[api_doc.path_str("divipola", "Código DIVIPOLA (76001 = Cali)"),
                               P("simplified", BOOL_QUERY, description="geometría simplificada")],
                   responses={200: MUNICIPALITY, **errors(404)})
    def get(self, request, divipola):
        m = queries.get_municipality(divipola)
        simplified = params.boolean(request.query_params.get("simplified"), "simplified")
        geom = m.geom_simplified if simplified else m.geom
        series = queries.municipality_series(m)
        pop = {v["year"]: v["value"] for v in series.get(queries.POPULATION, {}).get("values", [])}
        return Response({
            "type": "Feature",
            "id": m.divipola,
            "geometry": json.loads(geom.json),
            "properties": {
                "divipola": m.divipola, "name": m.name, "official_name": m.official_name,
                "subregion": m.subregion.name, "subregion_code": m.subregion.code,
                "area_km2": round(m.area_km2, 2), "area_crs": "EPSG:9377",
                "official_area_km2": m.official_area_km2,
                "cabecera": m.cabecera_name, "cabecera_lonlat": [m.cabecera.x, m.cabecera.y],
                "creation_act": m.creation_act, "boundary_source": m.boundary_source,
                "population": pop.get(queries.CENSUS_YEAR), "population_year": queries.CENSUS_YEAR,
                "indicators": series,
                "census_not_available": [1985, 1993, 2005],
            },
        })


class SubregionList(APIView):
    @extend_schema(summary="Subregiones (GeoJSON FeatureCollection, geometría = unión de municipios)",
                   responses={200: FEATURE_COLLECTION, **errors()})
    def get(self, request):
        features = []
        for s in Subregion.objects.prefetch_related("municipalities").order_by("order"):
            features.append({
                "type": "Feature", "id": s.code,
                "geometry": json.loads(s.geom.json) if s.geom else None,
                "properties": {
                    "code": s.code, "name": s.name, "aliases": s.aliases, "color": s.color,
                    "area_km2": round(s.area_km2 or 0, 2), "assignment_note": s.assignment_note,
                    "municipalities": sorted(m.divipola for m in s.municipalities.all()),
                },
            })
        return Response({"type": "FeatureCollection", "features": features})


class IndicatorValues(APIView):
    @extend_schema(
        summary="Valores de un indicador por municipio, con su fuente, año, unidad y referencias",
        description="`references`: el valor del departamento y el nacional tal como se publicaron "
                    "(`value` nulo y `published` falso = no publicado; nunca un promedio calculado).",
        parameters=[P("code", str, required=True, description="Código del indicador (p. ej. densidad_poblacion)"),
                    P("year", INT, description="Año (por defecto el más reciente del indicador)")],
        responses={200: INDICATOR_VALUES, **errors()},
    )
    def get(self, request):
        sel = queries.indicator_values(request.query_params.get("code"), request.query_params.get("year"))
        ind = sel.indicator
        return Response({
            "indicator": {"code": ind.code, "name": ind.name, "unit": ind.unit, "source": ind.source,
                          "description": ind.description},
            "year": sel.year, "years": sel.years, "unit": ind.unit, "source": ind.source,
            "values": sel.values, "references": sel.references,
        })


SEARCH_HITS = array(obj({"divipola": STR, "name": STR, "alias": nullable(STR)}))


class MunicipalitySearch(APIView):
    @extend_schema(summary="Buscar municipios por nombre (sin tildes ni mayúsculas; alias comunes como «Buga»)",
                   operation_id="municipality_search",
                   parameters=[P("q", str, required=True, description="texto escrito (p. ej. tulua, Buga)"),
                               P("limit", {**INT, "minimum": 1, "maximum": search.MAX_RESULTS})],
                   responses={200: SEARCH_HITS, **errors()})
    def get(self, request):
        q = params.text(request.query_params.get("q"), "q", max_length=100, required=True)
        limit = params.integer(request.query_params.get("limit"), "limit", minimum=1, maximum=search.MAX_RESULTS,
                               default=search.MAX_RESULTS)
        return Response(search.search_municipalities(q, limit))


class Locate(APIView):
    @extend_schema(summary="¿Qué municipio y subregión contienen el punto?",
                   parameters=[P("lon", {**NUM, "minimum": -180, "maximum": 180}, required=True),
                               P("lat", {**NUM, "minimum": -90, "maximum": 90}, required=True)],
                   responses={200: LOCATE, **errors()})
    def get(self, request):
        return Response(queries.locate(request.query_params.get("lon"), request.query_params.get("lat")))


class Download(APIView):
    throttle_scope = "downloads"

    @extend_schema(summary="Descargas: municipalities|subregions .gpkg/.geojson; indicators.csv",
                   parameters=[api_doc.path_str("dataset", enum_values=["municipalities", "subregions", "indicators"]),
                               api_doc.path_str("fmt", enum_values=["gpkg", "geojson", "csv"]),
                               P("code", str, description="Sólo indicators.csv: un indicador")],
                   responses={**api_doc.binary(*formats.content_types("gpkg", "geojson", "csv")), **errors()})
    def get(self, request, dataset, fmt):
        if dataset == "indicators":
            if fmt != "csv":
                raise InvalidParameter(gettext("Los indicadores se descargan como CSV: /api/v1/downloads/indicators.csv"))
            code = params.text(request.query_params.get("code"), "code", max_length=60)
            body = exports.indicators_csv(code)
        else:
            builder = exports.VECTOR_DATASETS.get(dataset)
            if builder is None:
                valid = ", ".join(sorted([*exports.VECTOR_DATASETS, "indicators"]))
                raise InvalidParameter(gettext("Conjunto desconocido %(dataset)r. Válidos: %(valid)s.")
                                       % {"dataset": dataset, "valid": valid})
            body, _ = exports.VECTOR_FORMATS.render(fmt, dataset)
        return formats.attachment(body, f"geosig_valle_{dataset}", fmt)


_TABLE = obj({"caption": STR, "columns": array(STR), "rows": array(array(STR))})
FACTSHEET = obj({
    "subject": obj({"kind": {**STR, "enum": ["municipio", "subregion"]}, "code": STR, "name": STR,
                    "divipolas": array(STR)}),
    "demo": api_doc.BOOL,
    "sections": array(obj({"key": STR, "title": STR, "order": INT, "content": nullable(obj({
        "facts": array(array(STR)), "paragraphs": array(STR), "tables": array(_TABLE), "notes": array(STR),
        "demo": api_doc.BOOL}))})),
})


class FactSheet(APIView):
    throttle_scope = "reports"  # the first build of a sheet reads every app (conflicts, corridors, balance)

    @extend_schema(summary="Ficha de un municipio o una subregión: lo que el sistema sabe de ese territorio",
                   description="Las secciones las registra cada aplicación (territorio, ciudades, POT, capas, plan); "
                               "`content` nulo = sin información registrada. Textos ya traducidos y números ya "
                               "formateados en el idioma de la solicitud. Página: /fichas/<kind>/<code>/ (PDF con "
                               "?format=pdf).",
                   operation_id="factsheet",
                   parameters=[api_doc.path_str("kind", enum_values=["municipio", "subregion"]),
                               api_doc.path_str("code", "DIVIPOLA (76001) o código de subregión (sur)")],
                   responses={200: FACTSHEET, **api_doc.NOT_MODIFIED, **errors(404)})
    def get(self, request, kind, code):
        from django.utils.translation import get_language

        from territorial import factsheets

        subj = factsheets.subject(kind, code)

        def build():
            sheet = factsheets.build_sheet(subj, None)
            return json.dumps({
                "subject": {"kind": subj.kind, "code": subj.code, "name": subj.name, "divipolas": list(subj.divipolas)},
                "demo": bool(sheet["demo"]), "sections": sheet["sections"]}, ensure_ascii=False, default=str)

        entry = versioned.memo("factsheets", ("json", subj.kind, subj.code, get_language(),
                                              factsheets.data_version(subj)), build)
        return versioned.respond(request, entry, "application/json")


# ------------------------------------------------------------------ fact sheets in a batch (a job)
FACTSHEET_BATCH_BODY = obj({
    "municipalities": {**array(STR), "description": "Códigos DIVIPOLA; sin municipios ni subregiones: todas las fichas"},
    "subregions": {**array(STR), "description": "Códigos de subregión (sur, norte…)"},
}, [])


def _batch_job(job, request) -> dict:
    from django.urls import reverse

    from jobs.api import job_dict

    out = job_dict(job, request)
    out["urls"]["download"] = request.build_absolute_uri(reverse("api-factsheet-batch-download", args=[job.pk]))
    return out


class FactSheetBatch(APIView):
    """POST → 202 with the job: every sheet (or the ones named) as PDFs in one ZIP, rendered by a worker."""

    throttle_scope = "jobs"

    @extend_schema(summary="Fichas en lote: PDF de los municipios y subregiones en un ZIP (personal o rol POT)",
                   description="Encola un trabajo; su estado en /api/v1/jobs/<id>/ y el ZIP en urls.download "
                               "cuando termina.",
                   operation_id="factsheet_batch", request=api_doc.json_body(FACTSHEET_BATCH_BODY),
                   responses={202: api_doc.OBJ, **errors(401, 403)})
    def post(self, request):
        from territorial.services import factsheet_batch

        factsheet_batch.require_starter(request.user)  # before the body is read or anything stored
        data = params.body(request.data) or {}
        job = factsheet_batch.start_batch(request.user, data.get("municipalities"), data.get("subregions"))
        return Response(_batch_job(job, request), status=202)


class FactSheetBatchDownload(APIView):
    throttle_scope = "downloads"

    @extend_schema(summary="ZIP de un lote de fichas terminado (su dueño o el personal)", operation_id="factsheet_batch_zip",
                   parameters=[api_doc.path_id("id", "Número del trabajo")],
                   responses={**api_doc.binary("application/zip"), **errors(403, 404, 409)})
    def get(self, request, pk):
        from territorial.services import factsheet_batch

        path = factsheet_batch.batch_zip(pk, request.user)
        return formats.attachment(path, f"fichas_lote_{pk}", "zip")
