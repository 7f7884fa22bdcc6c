"""Jobs API (/api/v1/jobs/<id>/): status for its owner or staff, cooperative cancel. Thin views."""
from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig import openapi as doc
from geosig.errors import PermissionDeniedError
from geosig.openapi import BOOL, DATETIME, INT, OBJ, STR, errors, nullable, obj

from . import registry, services
from .models import Job

JOB = obj({
    "id": INT, "kind": STR, "kind_label": STR, "state": doc.enum([s.value for s in Job.State]), "state_label": STR,
    "progress": INT, "message": STR, "error": STR, "cancel_requested": BOOL, "attempts": INT,
    "created_at": DATETIME, "started_at": nullable(DATETIME), "heartbeat_at": nullable(DATETIME),
    "finished_at": nullable(DATETIME), "result": OBJ, "urls": obj({"self": STR, "cancel": STR}),
})
JOB_ID = doc.path_id("id", "Número del trabajo")


def job_dict(job: Job, request) -> dict:
    base = request.build_absolute_uri(reverse("api-job", args=[job.pk]))
    kind = registry.KINDS.get(job.kind)
    return {
        "id": job.pk, "kind": job.kind, "kind_label": str(kind.label) if kind else job.kind, "state": job.state,
        "state_label": str(job.get_state_display()), "progress": job.progress, "message": job.message,
        "error": job.error, "cancel_requested": job.cancel_requested, "attempts": job.attempts,
        "created_at": job.created_at, "started_at": job.started_at, "heartbeat_at": job.heartbeat_at,
        "finished_at": job.finished_at, "result": job.result, "urls": {"self": base, "cancel": base + "cancel/"},
    }


def _require_login(request) -> None:
    if not request.user.is_authenticated:
        raise PermissionDeniedError(_("Ingrese con el usuario que lanzó el trabajo."))


@extend_schema(summary="Estado de un trabajo en segundo plano (su dueño o el personal; los públicos, cualquiera)",
               parameters=[JOB_ID], responses={200: JOB, **errors(403, 404)})
class JobDetail(APIView):
    def get(self, request, pk):
        # login is checked by get_job: a public job (the department's POT conflicts) is anyone's to follow
        return Response(job_dict(services.get_job(pk, request.user), request))


@extend_schema(summary="Cancelar un trabajo (se detiene entre etapas)", parameters=[JOB_ID], request=None,
               responses={200: JOB, **errors(403, 404, 409)})
class JobCancel(APIView):
    throttle_scope = "jobs"

    def post(self, request, pk):
        _require_login(request)  # before reading anything of the request or the job
        job = services.get_job(pk, request.user)
        return Response(job_dict(services.cancel(job, request.user), request))
