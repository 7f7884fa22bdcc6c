"""The one Procrastinate task: load the job row and run it (``services.execute``). Autodiscovered by
procrastinate.contrib.django (module name ``tasks``)."""
from __future__ import annotations

import os
import socket

from django.db import close_old_connections
from procrastinate import RetryDecision
from procrastinate.contrib.django import app
from procrastinate.retry import BaseRetryStrategy

from . import services


class TransientRetry(BaseRetryStrategy):
    """Retry only what ``services.execute`` re-raised: a transient failure with attempts left (it decided that
    against the kind's ``retries``); exponential backoff from ``JOBS_RETRY_BASE_SECONDS``."""

    def get_retry_decision(self, *, exception, job):
        if not isinstance(exception, services.TRANSIENT):
            return None
        return RetryDecision(retry_in={"seconds": services.retry_delay(job.attempts + 1)})


@app.task(name=services.TASK_NAME, queue=services.QUEUE, pass_context=True, retry=TransientRetry())
def run_job(context, job_id: int) -> None:
    # Procrastinate runs sync tasks in its thread pool: each thread keeps its own connection between jobs
    # (CONN_MAX_AGE), dropped here if it broke or aged, as Django does around a request.
    close_old_connections()
    try:
        services.execute(job_id, worker=f"{socket.gethostname()}:{os.getpid()}:{context.worker_name or ''}")
    finally:
        close_old_connections()
