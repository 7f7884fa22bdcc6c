"""POT zoning proposals (Planes de Ordenamiento Territorial, Ley 388 de 1997): plans, zones, review
workflow, versions and the conflict analysis. Lives inside ``territorial``; may use ``layers``."""
