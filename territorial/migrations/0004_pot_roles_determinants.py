"""POT roles (Django groups) and the environmental determinants with their default compatibility
matrix. CVC staff edit the matrix in the admin afterwards; this only seeds it."""
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    # group: {model: [actions]}
    "Planificador": {
        "plan": ["view", "add", "change"], "zone": ["view", "add", "change", "delete"],
        "planversion": ["view"], "reviewcomment": ["view", "add"],
    },
    "Revisor CVC": {
        "plan": ["view"], "zone": ["view"], "planversion": ["view"], "reviewcomment": ["view", "add"],
        "determinant": ["view"], "determinantrule": ["view", "change"],
    },
    "Analista": {
        "plan": ["view"], "zone": ["view"], "planversion": ["view"], "reviewcomment": ["view"],
        "determinant": ["view"], "determinantrule": ["view"],
    },
}

C, K, I = "compatible", "condicionado", "incompatible"
DETERMINANTS = [
    # code, name, kind, params, description, {soil class: verdict}
    ("paramo", "Páramos delimitados", "polygon", {},
     "Ecosistemas de páramo delimitados por Minambiente (Ley 1930 de 2018).",
     {"proteccion": C, "rural": K, "suburbano": I, "expansion_urbana": I, "urbano": I}),
    ("bosque_seco", "Bosque seco tropical", "polygon", {},
     "Relictos de bosque seco tropical (ecosistema estratégico).",
     {"proteccion": C, "rural": K, "suburbano": I, "expansion_urbana": I, "urbano": I}),
    ("amenaza_inundacion", "Amenaza no mitigable por inundación", "polygon", {},
     "Zonas de amenaza alta no mitigable por inundación: suelo de protección (Ley 388 art. 35).",
     {"proteccion": C, "rural": K, "suburbano": I, "expansion_urbana": I, "urbano": I}),
    ("ronda_hidrica", "Ronda hídrica", "ronda", {"width_m": 30},
     "Franja paralela al cauce (Decreto 2811 de 1974 art. 83: hasta 30 m); el ancho es un parámetro.",
     {"proteccion": C, "rural": K, "suburbano": I, "expansion_urbana": I, "urbano": I}),
    ("pendiente_alta", "Pendiente alta", "slope", {"threshold_deg": 30},
     "Terrenos con pendiente mayor que el umbral, derivada del DEM SRTM.",
     {"proteccion": C, "rural": K, "suburbano": I, "expansion_urbana": I, "urbano": K}),
]


def forwards(apps, schema_editor):
    # permissions are normally created after the last migration (post_migrate): create them now
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    seed(apps)


def seed(apps):
    """Groups with their permissions, determinants and the default matrix (idempotent)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, models in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for model, actions in models.items():
            for action in actions:
                perm = Permission.objects.get(content_type__app_label="territorial", codename=f"{action}_{model}")
                group.permissions.add(perm)
    Determinant = apps.get_model("territorial", "Determinant")
    Rule = apps.get_model("territorial", "DeterminantRule")
    for code, name, kind, params, description, rules in DETERMINANTS:
        det, _ = Determinant.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "params": params, "description": description}
        )
        for soil, verdict in rules.items():
            Rule.objects.get_or_create(determinant=det, soil_class=soil, defaults={"verdict": verdict})


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()
    apps.get_model("territorial", "Determinant").objects.filter(code__in=[d[0] for d in DETERMINANTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("territorial", "0003_pot"), ("auth", "0012_alter_user_first_name_max_length"),
                    ("contenttypes", "0002_remove_content_type_name")]
    operations = [migrations.RunPython(forwards, backwards)]
