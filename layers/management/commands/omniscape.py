"""python manage.py omniscape CONFIG.ini [--workers N] [--scheduler ADDRESS]

Omnidirectional connectivity (Omniscape method) from an Omniscape.jl configuration file, unchanged: the same
keys, paths relative to the current folder, outputs (cum_currmap, flow_potential, normalized_cum_currmap) as
GeoTIFF in the resistance's grid and CRS inside ``project_name`` (a new ``project_name_1``… if it exists).
"""
from pathlib import Path

from django.core.management.base import BaseCommand

from geosig import params as P
from geosig.errors import command_errors
from layers.connectivity.config import parse_config, read_ini
from layers.connectivity.services import run_config


class Command(BaseCommand):
    help = "Conectividad omnidireccional (método Omniscape) con un archivo de configuración de Omniscape.jl."

    def add_arguments(self, parser):
        parser.add_argument("config", help="archivo .ini de Omniscape.jl")
        parser.add_argument("--workers", default=None,
                            help="procesos/hilos de trabajo (por defecto: 2 si parallelize = true, si no 1)")
        parser.add_argument("--scheduler", default=None,
                            help="repartir los bloques con Dask: «local» (un LocalCluster de --workers procesos) "
                                 "o la dirección de un planificador (tcp://…)")

    def handle(self, *args, **o):
        with command_errors():
            cfg = parse_config(read_ini(o["config"]))
            parallel = cfg.raw.get("parallelize", "true").strip().lower() == "true"
            workers = P.integer(o["workers"], "--workers", default=2 if parallel else 1, minimum=1, maximum=256)
            executor = _executor(workers, o["scheduler"])
            verbose = o["verbosity"] > 1
            try:
                report = run_config(cfg, Path.cwd(), executor=executor, progress=(
                    lambda pct, msg: self.stderr.write(f"[{pct:3d} %] {msg}")) if verbose else None)
            finally:
                executor.close()
        self.stdout.write(str(report))


def _executor(workers: int, scheduler: str | None):
    """Dask (``layers.distributed``) when a scheduler is named; otherwise the engine's own threads."""
    if not scheduler:
        from layers.connectivity.omniscape import LocalExecutor
        return LocalExecutor(workers)
    from distributed import Client

    from layers.distributed import DaskExecutor, get_client, local_cluster
    if scheduler == "local":
        return DaskExecutor(client=Client(local_cluster(workers), set_as_default=False))
    return DaskExecutor(client=get_client(scheduler))
