"""The plan's own structure as its source states it (Plan Maestro 2002, as quoted in issue #11; the full text
of the plan is not among the data available here — /work/shared/data has no copy).

Shipped: the six dimensions, the six program lines the plan names, the five specific objectives (quoted
fragments). NOT shipped: which dimension each line belongs to — no available source says it, so lines are
seeded without a dimension and the planning office assigns them (admin → Líneas de programa). No program,
project or goal is invented; the DEMO generator (``plan_demo``) makes labelled demonstration content.
"""
SOURCE = "Plan Maestro 2002 (Gobernación del Valle del Cauca), citado en el issue #11"
NOTE = ("La asignación de líneas de programa a dimensiones no está en ninguna fuente disponible aquí: "
        "las líneas se cargan sin dimensión y la oficina de planeación las asigna.")

DIMENSIONS = [
    ("social", "Social"),
    ("economico", "Económico (tecno-económico)"),
    ("territorial", "Territorial"),
    ("politico", "Político"),
    ("institucional", "Institucional"),
    ("ambiental", "Medio ambiente, cultura y biodiversidad"),
]

LINES = [
    ("sistema-ciudades", "Fortalecimiento al desarrollo Sistema de Ciudades"),
    ("zeee-buenaventura", "Consolidación ZEEE Buenaventura (ciudad–puerto)"),
    ("corredores-biologicos", "Recuperación de corredores biológicos para preservar fauna y flora"),
    ("infraestructura-educativa-hospitalaria", "Red infraestructura educativa y hospitalaria"),
    ("saneamiento-servicios", "Saneamiento básico, servicios públicos"),
    ("sig-red-planificacion", "Creación de sistemas de información georreferenciada y Red de Planificación Regional"),
]

OBJECTIVES = [
    "«un Sistema de Información e indicadores Georeferenciado para el Ordenamiento Territorial»",
    "«indicadores que permitan medir el nivel de pobreza y de desarrollo humano … ICV, un proxy del NBI y el IDH "
    "… por municipios»",
    "«Portafolio de proyectos de corto, mediano y largo plazo»",
    "«metas, indicadores, monitoreo»",
    "«Sistema de información y control social para el seguimiento de la ejecución del Plan»",
]

ROLES = {
    "Oficina de planeación": {
        "planSettings": ["manage_portfolio"],
        "dimension": ["view", "add", "change", "delete"], "programline": ["view", "add", "change", "delete"],
        "specificobjective": ["view", "add", "change", "delete"], "program": ["view", "add", "change", "delete"],
        "entity": ["view", "add", "change", "delete"], "project": ["view", "add", "change", "delete"],
        "budget": ["view", "add", "change", "delete"], "projectlink": ["view", "add", "change", "delete"],
        "goal": ["view", "add", "change", "delete"], "progressreport": ["view"], "revision": ["view"],
        "plansettings": ["view", "change"],
    },
    "Entidad ejecutora": {"planSettings": ["report_progress"]},
}


def seed(apps):
    """Idempotent: structure rows by code, objectives by order, the thresholds row, the roles."""
    Dimension = apps.get_model("plan", "Dimension")
    Line = apps.get_model("plan", "ProgramLine")
    Objective = apps.get_model("plan", "SpecificObjective")
    for order, (code, name) in enumerate(DIMENSIONS, start=1):
        Dimension.objects.get_or_create(code=code, defaults={"name": name, "order": order, "source": SOURCE})
    for order, (code, name) in enumerate(LINES, start=1):
        Line.objects.get_or_create(code=code, defaults={"name": name, "order": order, "source": SOURCE})
    for order, text in enumerate(OBJECTIVES, start=1):
        Objective.objects.get_or_create(order=order, defaults={"text": text, "source": SOURCE})
    Settings = apps.get_model("plan", "PlanSettings")
    if not Settings.objects.exists():
        Settings.objects.create()
    seed_roles(apps)


def seed_roles(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, models in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for model, actions in models.items():
            codenames = actions if model == "planSettings" else [f"{a}_{model}" for a in actions]
            group.permissions.add(*Permission.objects.filter(content_type__app_label="plan", codename__in=codenames))
