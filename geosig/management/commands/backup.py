from pathlib import Path

from django.core.management.base import BaseCommand

from geosig.backup import create_backup
from geosig.errors import command_errors


class Command(BaseCommand):
    help = ("Guarda en un solo archivo (.tar.gz) la base de datos, los archivos de MEDIA_ROOT y un manifiesto "
            "con migraciones, conteos de filas y sumas sha256. Restaure con «restore».")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="Archivo a crear (no debe existir), p. ej. geosig-2026-11-27.tar.gz")
        parser.add_argument("--database", default="default", help="Alias de la base (por defecto «default»).")

    def handle(self, *args, **opts):
        with command_errors():
            r = create_backup(opts["file"], alias=opts["database"])
        self.stdout.write(
            f"Copia creada: {r.path} ({r.size_bytes / 1e6:.1f} MB): {r.tables} tablas, {r.rows} filas, "
            f"{r.media_files} archivo(s) de medios.")
