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


# ---------------------------------------------------------------- official municipal statistics (all of Colombia)
# Flat CSVs keyed by 5-digit DIVIPOLA (one row per municipality + row 00000 = national total when the
# table has one) next to the official workbooks they were copied from. Only the Valle's 42 rows are
# loaded; the department and national references come from the official rows, never from averaging.
NBI_FILE = "facts/nbi_cnpv2018_municipios_colombia.csv"
NBI_WORKBOOK = "facts/originals/CNPV-2018-NBI.xlsx"
IDF_FILE = "facts/idf_dnp2023_municipios_colombia.csv"
IDF_WORKBOOK = "facts/originals/ResultadosIDF_2023.xlsx"
NATIONAL_CODE = "00000"
SRC_NBI = "DANE, CNPV 2018 — Necesidades Básicas Insatisfechas (NBI) por municipio"
SRC_IDF = "DNP, Índice de Desempeño Fiscal 2023 (nueva metodología), resultados por municipio"


@dataclass(frozen=True)
class OfficialColumn:
    code: str            # indicator code stored in GeoSIG
    column: str          # column of the flat CSV
    name: str
    description: str
    workbook_column: str = ""  # header (or positional key) of the department row in the workbook


@dataclass(frozen=True)
class OfficialTable:
    key: str
    csv: str
    workbook: str
    year: int
    unit: str
    source: str
    columns: tuple[OfficialColumn, ...]


_NBI_PARTS = ("nbi", "miseria", "vivienda", "servicios", "hacinamiento", "inasistencia", "dep_econ")
_NBI_SCOPES = {"total": 0, "cabecera": 1, "rural": 2}


def nbi_workbook_index(column: str) -> int:
    """Position of a CSV column (e.g. ``cabecera_miseria``) in the workbook's department sheet: code,
    name, then 7 values for total, 7 for cabeceras, 7 for centros poblados y rural disperso."""
    scope, part = column.split("_", 1)
    return 2 + 7 * _NBI_SCOPES[scope] + _NBI_PARTS.index(part)


NBI = OfficialTable("nbi", NBI_FILE, NBI_WORKBOOK, 2018, "%", SRC_NBI, (
    OfficialColumn("nbi_total", "total_nbi", "NBI: personas con necesidades básicas insatisfechas",
                   "Porcentaje de personas con al menos una NBI, total municipal."),
    OfficialColumn("nbi_cabecera", "cabecera_nbi", "NBI en la cabecera", "Porcentaje de personas con NBI en la cabecera."),
    OfficialColumn("nbi_rural", "rural_nbi", "NBI en centros poblados y rural disperso",
                   "Porcentaje de personas con NBI fuera de la cabecera."),
    OfficialColumn("nbi_miseria", "total_miseria", "Personas en miseria (2 o más NBI)",
                   "Porcentaje de personas con dos o más NBI, total municipal."),
    OfficialColumn("nbi_vivienda", "total_vivienda", "NBI: componente vivienda", "Viviendas inadecuadas."),
    OfficialColumn("nbi_servicios", "total_servicios", "NBI: componente servicios", "Servicios inadecuados."),
    OfficialColumn("nbi_hacinamiento", "total_hacinamiento", "NBI: componente hacinamiento", "Hacinamiento crítico."),
    OfficialColumn("nbi_inasistencia", "total_inasistencia", "NBI: componente inasistencia escolar",
                   "Hogares con niños de 6 a 12 años que no asisten a la escuela."),
    OfficialColumn("nbi_dependencia_economica", "total_dep_econ", "NBI: componente dependencia económica",
                   "Alta dependencia económica."),
))

IDF = OfficialTable("idf", IDF_FILE, IDF_WORKBOOK, 2023, "puntos (0–100)", SRC_IDF, (
    OfficialColumn("idf", "Nuevo IDF", "Índice de Desempeño Fiscal (IDF)",
                   "Nuevo IDF con bonos: resultados fiscales y gestión financiera territorial, 0 a 100.",
                   "Nuevo IDF"),
    OfficialColumn("idf_sin_bonos", "Nuevo IDF (sin bonos)", "IDF sin bonos", "Nuevo IDF sin bonificaciones.",
                   "Nuevo IDF (sin bonos)"),
    OfficialColumn("idf_resultados", "Calificación Resultados", "IDF: calificación de resultados fiscales",
                   "Dimensión de resultados fiscales.", "Calificación Resultados"),
    OfficialColumn("idf_gestion", "Calificación Resultados Gestión", "IDF: calificación de gestión financiera",
                   "Dimensión de gestión financiera territorial.", "Calificación Resultados Gestión"),
    OfficialColumn("idf_dependencia_transferencias", "Calificación Dependencia de las Transferencias",
                   "IDF: dependencia de las transferencias (calificación)", "",
                   "Calificación Dependencia de las Transferencias"),
    OfficialColumn("idf_relevancia_fbk", "Calificación Relevancia FBK fijo",
                   "IDF: relevancia de la formación bruta de capital fijo (calificación)", "",
                   "Calificación Relevancia FBK fijo"),
    OfficialColumn("idf_endeudamiento", "Calificación Endeudamiento Total", "IDF: endeudamiento (calificación)", "",
                   "Calificación Endeudamiento Total"),
    OfficialColumn("idf_ahorro_corriente", "Calificación Ahorro Corriente", "IDF: ahorro corriente (calificación)", "",
                   "Calificación Ahorro Corriente"),
    OfficialColumn("idf_balance_primario", "Calificación Balance Primario", "IDF: balance primario (calificación)", "",
                   "Calificación Balance Primario"),
    OfficialColumn("idf_holgura", "Calificación Holgura", "IDF: holgura (calificación)", "", "Calificación Holgura"),
    OfficialColumn("idf_capacidad_recaudo", "Calificación capacidad de programación y recaudo de Ingresos",
                   "IDF: capacidad de programación y recaudo (calificación)", "",
                   "Calificación capacidad de programación y recaudo de Ingresos"),
    OfficialColumn("idf_ejecucion_inversion", "Calificación Capacidad de Ejecución de Inversión",
                   "IDF: capacidad de ejecución de inversión (calificación)", "",
                   "Calificación Capacidad de Ejecución de Inversión"),
))

OFFICIAL_TABLES = (NBI, IDF)
