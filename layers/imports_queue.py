"""Big uploads as jobs (kind «layer_import»): a file above ``GEOSIG_IMPORT_JOB_BYTES`` is moved to
``MEDIA_ROOT/jobs/uploads/<random>/`` (shared by every worker machine) and imported by ``geosig_worker``
instead of inside the request; the web answers at once with the job. The file is removed when the job ends."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs import services as jobs
from jobs.models import Job
from jobs.registry import register
from layers.services.importing import import_layer

KIND = "layer_import"


def threshold() -> int:
    return int(getattr(settings, "GEOSIG_IMPORT_JOB_BYTES", 20 * 1024 * 1024))


def uploads_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "jobs" / "uploads"


def enqueue_import(path: Path, name: str, options: dict, user) -> Job:
    """Move the uploaded file out of the request's temporary folder and queue its import."""
    folder = uploads_root() / uuid.uuid4().hex
    folder.mkdir(parents=True)
    shutil.move(str(path), folder / name)
    try:
        return jobs.enqueue(KIND, {"file": f"{folder.name}/{name}", "name": name, "options": options}, owner=user)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _cleanup(job: Job) -> None:
    """on_change: the uploaded copy goes once the job is over (done, failed or cancelled)."""
    if job.state in Job.FINAL:
        shutil.rmtree(uploads_root() / Path(job.params.get("file", "")).parent.name, ignore_errors=True)


@register(KIND, label=gettext_lazy("Importar una capa grande"), retries=2, on_change=_cleanup)
def run_import(ctx, params: dict) -> dict:
    ctx.progress(5, _("Importando «%(name)s»") % {"name": params["name"]})
    path = uploads_root() / params["file"]
    report = import_layer(path, original_name=params["name"], user=ctx.job.owner, **params["options"])
    return report.as_dict()
