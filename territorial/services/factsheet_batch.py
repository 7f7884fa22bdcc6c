"""Fact sheets in a batch: every municipality's and subregion's sheet (or a chosen subset) as PDFs in one ZIP,
rendered by a job (kind «factsheets», ``territorial.jobs``) through the same service as the single sheet's PDF.

Who may start one: rendering 47 PDFs costs minutes of CPU, so authenticated staff or a POT role (planner,
CVC reviewer, analyst), checked before anything is read or stored."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from geosig import params
from geosig.errors import ConflictError, InvalidParameter, NotFound, PermissionDeniedError
from jobs import services as jobs
from jobs.models import Job
from territorial.models import Municipality, Subregion
from territorial.pot.services import access

KIND = "factsheets"
ZIP_NAME = "fichas.zip"
MAX_CODES = 100  # more than the 42 municipalities and 5 subregions: a longer list is a bad request
KEEP_HOURS = 24  # a finished batch's ZIP is kept this long (the sheets change with the data; ask again)


def may_start(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser or access.roles(user)))


def require_starter(user) -> None:
    if user is None or not user.is_authenticated:
        raise PermissionDeniedError(_("Ingrese con un usuario del personal o con un rol POT (Planificador, Revisor "
                                      "CVC o Analista) para generar las fichas en lote."))
    if not may_start(user):
        raise PermissionDeniedError(_("Su usuario no tiene el rol para generar las fichas en lote (personal, "
                                      "Planificador, Revisor CVC o Analista)."))


def _codes(raw, name: str, valid: list[str]) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_CODES:
        raise InvalidParameter(_("«%(name)s» debe ser una lista de códigos (como máximo %(n)d).")
                               % {"name": name, "n": MAX_CODES}, parameter=name)
    codes = [params.text(c, name, max_length=30, required=True) for c in raw]
    unknown = [c for c in codes if c not in valid]
    if unknown:
        raise InvalidParameter(_("Códigos desconocidos en «%(name)s»: %(codes)s.")
                               % {"name": name, "codes": ", ".join(unknown)}, parameter=name)
    return list(dict.fromkeys(codes))  # in the order given, once each


def subjects(municipalities=None, subregions=None) -> list[list[str]]:
    """[[kind, code], …]: the municipalities (DIVIPOLA) and subregions (code) named; neither named → all 42
    municipalities and all subregions."""
    munis = list(Municipality.objects.order_by("divipola").values_list("divipola", flat=True))
    subs = list(Subregion.objects.order_by("code").values_list("code", flat=True))
    m = _codes(municipalities, "municipalities", munis)
    s = _codes(subregions, "subregions", subs)
    if m is None and s is None:
        m, s = munis, subs
    out = [["municipio", c] for c in m or []] + [["subregion", c] for c in s or []]
    if not out:
        raise InvalidParameter(_("Indique al menos un municipio o una subregión."), parameter="municipalities")
    return out


def start_batch(user, municipalities=None, subregions=None) -> Job:
    """Queue the batch for a worker; the sheets come in the language of the request."""
    require_starter(user)
    return jobs.enqueue(KIND, {"subjects": subjects(municipalities, subregions), "lang": get_language()}, owner=user)


def result_dir(job_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "fichas_lote" / str(job_id)


def batch_zip(job_id, user) -> Path:
    """The finished ZIP of batch ``job_id`` for its owner or staff (the jobs API's rule)."""
    job = jobs.get_job(job_id, user)
    if job.kind != KIND:
        raise NotFound(_("El trabajo %(id)s no es un lote de fichas.") % {"id": job.pk})
    if job.state != Job.State.DONE:
        raise ConflictError(_("El lote de fichas %(id)s aún no está listo (%(state)s).")
                            % {"id": job.pk, "state": job.get_state_display().lower()})
    path = Path(settings.MEDIA_ROOT) / job.result.get("file", "")
    if not job.result.get("file") or not path.is_file():
        raise NotFound(_("El archivo del lote %(id)s ya no existe; genere el lote de nuevo.") % {"id": job.pk})
    return path


def remove_expired() -> dict:
    """Worker cleanup (``jobs.registry.register_cleanup``): ZIPs of batches finished more than KEEP_HOURS ago,
    or whose job row is gone; the job stays, its download then says to generate the batch again."""
    import shutil
    from datetime import timedelta

    from django.utils import timezone

    root = Path(settings.MEDIA_ROOT) / "fichas_lote"
    if not root.is_dir():
        return {"removed": 0}
    limit = timezone.now() - timedelta(hours=KEEP_HOURS)
    removed = 0
    for path in root.iterdir():
        if not path.name.isdigit():
            continue
        finished = Job.objects.filter(pk=int(path.name), kind=KIND).values_list("finished_at", flat=True).first()
        if finished is None and Job.objects.filter(pk=int(path.name), kind=KIND).exists():
            continue  # not finished (an earlier attempt's folder is replaced by the next publish)
        if finished is None or finished < limit:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return {"removed": removed}
