"""Job kind «factsheets»: the fact sheets of many municipalities and subregions as PDFs in one ZIP.

Each sheet is rendered by ``services.factsheet_render.sheet_pdf`` (the single sheet's PDF, same cache); progress
is reported per sheet and a cancel is honoured between sheets. The ZIP is written in the job's work folder and
published with one rename, so a download never sees half a file."""
from __future__ import annotations

import zipfile

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs.registry import register, register_cleanup
from territorial import factsheets
from territorial.services import factsheet_batch as batch
from territorial.services.factsheet_render import sheet_pdf


@register(batch.KIND, label=gettext_lazy("Fichas en lote (ZIP)"), retries=1)
def render_batch(ctx, params: dict) -> dict:
    todo = params["subjects"]
    with translation.override(params.get("lang") or settings.LANGUAGE_CODE):
        path = ctx.workdir / batch.ZIP_NAME
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for i, (kind, code) in enumerate(todo):
                subj = factsheets.subject(kind, code)
                # the cancel check rides on this write: between sheets, never inside a PDF
                ctx.progress(100 * i / len(todo), _("Ficha %(n)d de %(total)d: %(name)s")
                             % {"n": i + 1, "total": len(todo), "name": subj.name})
                zf.writestr(f"ficha_{subj.kind}_{subj.code}.pdf", sheet_pdf(subj))
        ctx.check_cancelled()
        size = path.stat().st_size
        with zipfile.ZipFile(path) as zf:  # the count the user reads is of what the ZIP holds
            sheets = len(zf.namelist())
        rel = ctx.publish(batch.result_dir(ctx.job.pk))
    return {"file": f"{rel}/{batch.ZIP_NAME}", "sheets": sheets, "bytes": size}


register_cleanup("factsheet-batches", batch.remove_expired)  # each worker pass drops ZIPs older than a day
