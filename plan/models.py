"""The development plan ("Plan Maestro"): its structure, the project portfolio, goals and their follow-up.

Structure: dimension → program line → program (weights for the roll-up). Projects belong to a program and to
a responsible entity; their municipalities are derived from their geometry (editable). Goals measure an
indicator against a baseline and a target; progress reports come from the responsible entity. Every write
goes through the services (plan/services/portfolio.py), which keep a ``Revision`` (who, when, what).
"""
from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

TERMS = [("corto", _("corto plazo")), ("mediano", _("mediano plazo")), ("largo", _("largo plazo"))]
STATUSES = [("formulado", _("formulado")), ("viabilizado", _("viabilizado")), ("en_ejecucion", _("en ejecución")),
            ("terminado", _("terminado")), ("suspendido", _("suspendido"))]
POSITIVE = [MinValueValidator(0)]
PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class PlanSettings(models.Model):
    """One row: the semaphore thresholds the planning office sets. ``ratio`` = progress / expected progress
    at the report date (see plan/services/semaphore.py)."""

    on_track_min = models.FloatField(_("«en meta» desde (avance / avance esperado)"), default=0.9,
                                     validators=[MinValueValidator(0), MaxValueValidator(1)])
    at_risk_min = models.FloatField(_("«en riesgo» desde (avance / avance esperado)"), default=0.7,
                                    validators=[MinValueValidator(0), MaxValueValidator(1)])

    class Meta:
        verbose_name = _("umbrales del semáforo")
        verbose_name_plural = _("umbrales del semáforo")
        permissions = [("manage_portfolio", _("Administrar estructura, portafolio y publicación del plan")),
                       ("report_progress", _("Reportar avances de los proyectos y metas de su entidad"))]

    def __str__(self):
        return str(_("Umbrales del semáforo"))


class Dimension(models.Model):
    code = models.SlugField(_("código"), max_length=40, unique=True)
    name = models.CharField(_("nombre"), max_length=200)
    order = models.PositiveSmallIntegerField(_("orden"), default=0)
    source = models.CharField(_("fuente"), max_length=300, blank=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("dimensión")
        verbose_name_plural = _("dimensiones")

    def __str__(self):
        return self.name


class ProgramLine(models.Model):
    # nullable: the plan names its lines but no available source says which dimension each belongs to
    dimension = models.ForeignKey(Dimension, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="lines", verbose_name=_("dimensión"))
    dimension_is_demo = models.BooleanField(_("asignación de dimensión DEMO"), default=False)
    code = models.SlugField(_("código"), max_length=60, unique=True)
    name = models.CharField(_("nombre"), max_length=300)
    weight = models.FloatField(_("peso"), default=1, validators=POSITIVE)
    order = models.PositiveSmallIntegerField(_("orden"), default=0)
    source = models.CharField(_("fuente"), max_length=300, blank=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("línea de programa")
        verbose_name_plural = _("líneas de programa")

    def __str__(self):
        return self.name


class SpecificObjective(models.Model):
    order = models.PositiveSmallIntegerField(_("orden"), default=0)
    text = models.TextField(_("texto"))
    source = models.CharField(_("fuente"), max_length=300, blank=True)

    class Meta:
        ordering = ["order"]
        verbose_name = _("objetivo específico")
        verbose_name_plural = _("objetivos específicos")

    def __str__(self):
        return self.text[:80]


class Program(models.Model):
    line = models.ForeignKey(ProgramLine, on_delete=models.PROTECT, related_name="programs",
                             verbose_name=_("línea de programa"))
    code = models.SlugField(_("código"), max_length=60, unique=True)
    name = models.CharField(_("nombre"), max_length=300)
    weight = models.FloatField(_("peso"), default=1, validators=POSITIVE)
    objectives = models.ManyToManyField(SpecificObjective, blank=True, related_name="programs",
                                        verbose_name=_("objetivos específicos"))
    is_demo = models.BooleanField(_("demostración"), default=False)
    source = models.CharField(_("fuente"), max_length=300, blank=True)

    class Meta:
        ordering = ["line__order", "code"]
        verbose_name = _("programa")
        verbose_name_plural = _("programas")

    def __str__(self):
        return self.name


class Entity(models.Model):
    """A responsible (executing) entity; its members report progress on its projects and goals."""

    code = models.SlugField(_("código"), max_length=60, unique=True)
    name = models.CharField(_("nombre"), max_length=300)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="plan_entities",
                                     verbose_name=_("usuarios que reportan"))
    is_demo = models.BooleanField(_("demostración"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("entidad responsable")
        verbose_name_plural = _("entidades responsables")

    def __str__(self):
        return self.name


class Project(models.Model):
    code = models.CharField(_("código"), max_length=60, unique=True)
    name = models.CharField(_("nombre"), max_length=300)
    description = models.TextField(_("descripción"), blank=True)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="projects", verbose_name=_("programa"))
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="projects",
                               verbose_name=_("entidad responsable"))
    term = models.CharField(_("plazo"), max_length=10, choices=TERMS)
    start_date = models.DateField(_("inicio"), null=True, blank=True)
    end_date = models.DateField(_("fin"), null=True, blank=True)
    status = models.CharField(_("estado"), max_length=15, choices=STATUSES, default="formulado")
    progress = models.FloatField(_("avance (%)"), default=0, validators=PERCENT)
    weight = models.FloatField(_("peso"), default=1, validators=POSITIVE)
    geom = models.GeometryField(_("geometría"), srid=4326, null=True, blank=True)
    municipalities = models.ManyToManyField("territorial.Municipality", blank=True, related_name="plan_projects",
                                            verbose_name=_("municipios"))
    municipalities_edited = models.BooleanField(_("municipios editados a mano"), default=False)
    published = models.BooleanField(_("publicado"), default=False)
    is_demo = models.BooleanField(_("demostración"), default=False)
    source = models.CharField(_("fuente"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("proyecto")
        verbose_name_plural = _("proyectos")
        constraints = [models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=100),
                                              name="plan_project_progress_0_100")]

    def __str__(self):
        return f"{self.code} {self.name}"


class Budget(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budgets")
    year = models.PositiveSmallIntegerField(_("año"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    funding_source = models.CharField(_("fuente de financiación"), max_length=200)
    amount_cop = models.DecimalField(_("valor (COP)"), max_digits=18, decimal_places=0, validators=POSITIVE)

    class Meta:
        ordering = ["project", "year", "funding_source"]
        constraints = [models.UniqueConstraint(fields=["project", "year", "funding_source"], name="uniq_plan_budget")]
        verbose_name = _("presupuesto")
        verbose_name_plural = _("presupuestos")


class ProjectLink(models.Model):
    """An analysis the project responds to (a corridor run, a POT plan, a city-balance scenario)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(_("tipo"), max_length=30)
    ref = models.CharField(_("referencia"), max_length=100)
    label = models.CharField(_("etiqueta"), max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "kind", "ref"], name="uniq_plan_project_link")]
        verbose_name = _("análisis relacionado")
        verbose_name_plural = _("análisis relacionados")


class Goal(models.Model):
    code = models.CharField(_("código"), max_length=60, unique=True)
    name = models.CharField(_("meta"), max_length=300)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="goals", verbose_name=_("programa"))
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="goals",
                                verbose_name=_("proyecto"))
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="goals",
                               verbose_name=_("entidad responsable"))
    indicator = models.CharField(_("indicador"), max_length=300)
    unit = models.CharField(_("unidad"), max_length=60)
    baseline_value = models.FloatField(_("línea base"))
    baseline_year = models.PositiveSmallIntegerField(_("año de la línea base"))
    baseline_source = models.CharField(_("fuente de la línea base"), max_length=300)
    target_value = models.FloatField(_("meta (valor)"))
    target_year = models.PositiveSmallIntegerField(_("año de la meta"))
    weight = models.FloatField(_("peso"), default=1, validators=POSITIVE)
    published = models.BooleanField(_("publicado"), default=False)
    is_demo = models.BooleanField(_("demostración"), default=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("meta")
        verbose_name_plural = _("metas")
        constraints = [models.CheckConstraint(condition=Q(target_year__gt=models.F("baseline_year")),
                                              name="plan_goal_target_after_baseline")]

    def __str__(self):
        return f"{self.code} {self.name}"


class ProgressReport(models.Model):
    """A reported value: a project's physical progress (%) or a goal's indicator value, with evidence."""

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    goal = models.ForeignKey(Goal, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    value = models.FloatField(_("valor"))
    date = models.DateField(_("fecha"))
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("quién reporta"))
    note = models.TextField(_("nota"), blank=True)
    evidence_url = models.URLField(_("enlace de evidencia"), blank=True, max_length=500)
    evidence_file = models.FileField(_("archivo de evidencia"), upload_to="plan/evidencia/", blank=True)
    is_demo = models.BooleanField(_("demostración"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("reporte de avance")
        verbose_name_plural = _("reportes de avance")
        constraints = [models.CheckConstraint(condition=Q(project__isnull=True) ^ Q(goal__isnull=True),
                                              name="plan_report_project_xor_goal")]


class Revision(models.Model):
    """Every write: which object, its version, who, when, what (a snapshot of the written fields)."""

    model = models.CharField(_("objeto"), max_length=40)
    object_id = models.BigIntegerField()
    number = models.PositiveIntegerField(_("versión"))
    action = models.CharField(_("acción"), max_length=40)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("autor"))
    created_at = models.DateTimeField(_("fecha"), auto_now_add=True)
    data = models.JSONField(_("datos"), default=dict)

    class Meta:
        ordering = ["model", "object_id", "number"]
        indexes = [models.Index(fields=["model", "object_id"])]
        verbose_name = _("versión")
        verbose_name_plural = _("versiones")
