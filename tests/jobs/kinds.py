"""Job kinds used by the jobs tests (registered on import; the kill tests' worker subprocess imports this too)."""
import time
from pathlib import Path

from django.conf import settings
from django.db import OperationalError

from geosig.errors import InvalidParameter
from jobs.registry import register


def steps(ctx, params: dict) -> dict:
    """``steps`` stages of ``sleep`` seconds, one file written per stage into the work folder, then published.
    ``fail``: "geosig" (a Spanish user error), "bug" (an internal error), "transient" (a lost database
    connection on the first ``transient_attempts`` attempts)."""
    fail = params.get("fail")
    if fail == "transient" and ctx.job.attempts <= params.get("transient_attempts", 1):
        raise OperationalError("server closed the connection unexpectedly")
    for i in range(params.get("steps", 3)):
        ctx.progress(100 * i / params.get("steps", 3), f"Etapa {i + 1}")
        (ctx.workdir / f"etapa-{i}.txt").write_text(str(i))
        if fail == "geosig" and i == 1:
            raise InvalidParameter("La etapa 2 no admite estos datos.")
        if fail == "bug" and i == 1:
            raise KeyError("detalle interno secreto")
        time.sleep(params.get("sleep", 0))
    rel = ctx.publish(Path(settings.MEDIA_ROOT) / "resultados" / str(ctx.job.pk))
    return {"result_dir": rel, "steps": params.get("steps", 3)}


register("test-steps", label="Prueba por etapas", retries=2)(steps)
register("test-once", label="Prueba sin reintentos", retries=0)(steps)
