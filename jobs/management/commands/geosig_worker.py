"""python manage.py geosig_worker [--burst] [--concurrency N] [--cleanup] — run queued jobs (corridors, conflicts…).

Several workers may run at once, on this or other machines, with the same DATABASE_URL and a shared
MEDIA_ROOT. On start (and every JOBS_STALE_SECONDS while running) a worker reclaims the jobs of dead workers and
runs the apps' registered cleanups (``jobs.registry.register_cleanup``: e.g. expired corridor input files);
``--cleanup`` does that pass once and exits (cron).
"""
from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from jobs import registry, services

log = logging.getLogger("jobs.worker")


class Command(BaseCommand):
    help = "Ejecuta los trabajos en cola (corredores, conflictos POT, importaciones grandes)."

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true",
                            help="procesa lo que haya en cola y termina (pruebas, cron)")
        parser.add_argument("--concurrency", type=int, default=int(getattr(settings, "JOBS_CONCURRENCY", 1)),
                            help="trabajos a la vez en este proceso (por defecto 1: los cálculos usan los núcleos)")
        parser.add_argument("--cleanup", action="store_true",
                            help="solo la limpieza periódica (trabajos huérfanos, archivos de entrada vencidos) y termina")

    def handle(self, *args, burst=False, concurrency=1, cleanup=False, **opts):
        from procrastinate.contrib.django import app

        reclaimed = services.reclaim_orphans()
        if reclaimed["requeued"] or reclaimed["failed"]:
            self.stdout.write(f"Trabajos huérfanos: reencolados {reclaimed['requeued']}, fallidos {reclaimed['failed']}")
        for name, report in registry.run_cleanups().items():
            if report and any(report.values()):
                self.stdout.write(f"Limpieza «{name}»: {report}")
        if cleanup:
            return
        stop = threading.Event()
        if not burst:
            threading.Thread(target=self._reclaim_loop, args=(stop,), daemon=True, name="jobs-reclaim").start()
        name = f"{socket.gethostname()}:{os.getpid()}"
        if not burst:
            self.stdout.write(f"Trabajador {name} esperando trabajos (Ctrl-C para detener).")
        heartbeat = float(getattr(settings, "JOBS_HEARTBEAT_SECONDS", 10))
        try:
            with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
                worker_app.run_worker(
                    queues=[services.QUEUE], name=name, concurrency=max(1, concurrency), wait=not burst,
                    update_heartbeat_interval=heartbeat, stalled_worker_timeout=services.stale_seconds(),
                    delete_jobs="successful", install_signal_handlers=True,
                    # LISTEN/NOTIFY wakes the worker at once; this poll only bounds a missed wake-up
                    fetch_job_polling_interval=float(getattr(settings, "JOBS_POLL_SECONDS", 1)),
                )
        finally:
            stop.set()
            connection.close()

    @staticmethod
    def _reclaim_loop(stop: threading.Event) -> None:
        """A worker killed while this one runs: its jobs come back (or fail) within ~2 × JOBS_STALE_SECONDS."""
        while not stop.wait(services.stale_seconds()):
            try:
                services.reclaim_orphans()
                registry.run_cleanups()
            except Exception:  # noqa: BLE001 - keep the loop alive; the next pass retries
                log.exception("reclaiming orphan jobs failed")
            finally:
                connection.close()
