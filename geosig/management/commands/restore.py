from pathlib import Path

from django.core.management.base import BaseCommand

from geosig.backup import restore_backup
from geosig.errors import command_errors


class Command(BaseCommand):
    help = ("Restaura una copia hecha con «backup» en una base de datos VACÍA (con PostGIS) y una carpeta "
            "MEDIA_ROOT vacía; verifica las sumas sha256 y rechaza copias de una versión más nueva del código.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="Archivo de copia (.tar.gz)")
        parser.add_argument("--database", default="default", help="Alias de la base (por defecto «default»).")

    def handle(self, *args, **opts):
        with command_errors():
            r = restore_backup(opts["file"], alias=opts["database"])
        self.stdout.write(
            f"Copia del {r.created_at} restaurada: {r.tables} tablas, {r.rows} filas (iguales al manifiesto), "
            f"{r.media_files} archivo(s) de medios verificados.")
        if r.pending_migrations:
            self.stdout.write(
                f"La copia es anterior a este código: faltan {len(r.pending_migrations)} migración(es) "
                f"({', '.join(r.pending_migrations[:5])}). Ejecute «python manage.py migrate».")
