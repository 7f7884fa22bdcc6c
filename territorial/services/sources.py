"""What the territorial loader reads: file names, required fields and the subregion scheme."""
from dataclasses import dataclass

MUNICIPALITIES_FILE = "boundaries/valle_municipios_mgn2021.geojson"
FACTS_FILE = "facts/valle_municipios_facts.csv"
PROJECTIONS_FILE = "facts/valle_poblacion_proyecciones_dane_2012_2024.csv"
SUBREGIONS_FILE = "facts/valle_subregiones.csv"

BOUNDARY_SOURCE = "DANE MGN 2021 (generalizado, vía epiCo)"
SRC_CENSUS = "DANE CNPV 2018, población ajustada por cobertura"
SRC_PROJ = "DANE, proyecciones municipales de población (base CNPV 2018), vía epiCo"
SRC_DERIVED = "Calculado por GeoSIG Valle"

EXPECTED_MUNICIPALITIES = 42
DEPARTMENT_CODE = "76"
DEPARTMENT_NAME = "Valle del Cauca"
AREA_TOLERANCE = 0.02  # flag computed vs official area differences above 2 %


@dataclass(frozen=True)
class SubregionDef:
    code: str
    name: str
    dane_aliases: tuple[str, ...]
    color: str
    order: int
    note: str = ""


# The master plan's five subregional directions, with DANE's labels as aliases. Norte/Centro/Sur match
# by name; Nororiente ↔ DANE "Oriente" and Buenaventura ↔ DANE "Occidente"/"Pacífico" is GeoSIG's
# reading (the 2002 member lists were not found), so the assignment stays editable in the admin.
SUBREGIONS = (
    SubregionDef("norte", "Norte", ("NORTE",), "#1b9e77", 1),
    SubregionDef("centro", "Centro", ("CENTRO",), "#d95f02", 2),
    SubregionDef("sur", "Sur", ("SUR",), "#7570b3", 3),
    SubregionDef(
        "nororiente", "Nororiente", ("ORIENTE",), "#e7298a", 4,
        "Asignación inicial = subregión DANE 'Oriente' (Caicedonia, Sevilla); hipótesis, editable.",
    ),
    SubregionDef(
        "buenaventura", "Buenaventura", ("OCCIDENTE", "PACÍFICO"), "#1f78b4", 5,
        "Asignación inicial = subregión DANE 'Occidente'/'Pacífico'; editable.",
    ),
)

FACTS_REQUIRED = (
    "divipola", "nombre_mgn2021", "cabecera_nombre_divipola2017", "cabecera_lat", "cabecera_lon",
    "area_km2_mgn2021_official", "acto_creacion_mgn2021", "pop2018_adj_total", "pop2018_adj_cabecera",
    "pop2018_adj_resto",
)
EMPTY_CENSUS_COLUMNS = ("pop1985_censo", "pop1993_censo", "pop2005_censo", "pop2018_censada_total")
