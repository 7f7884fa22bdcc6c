"""The fact sheet page's batch button in headless Chromium: a staff user starts it, follows the job's progress
through the jobs API and downloads the ZIP the worker wrote."""
import io
import zipfile

import pytest

from tests.conftest import browser_login, external_requests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_starts_the_batch_and_downloads_the_zip(page, live_server, loaded_territory_tx, make_user, settings,
                                                     tmp_path):
    from jobs import services as jobs
    from jobs.models import Job

    settings.MEDIA_ROOT = tmp_path / "media"
    make_user("jefa", is_staff=True)
    browser_login(page, live_server, "jefa", "/fichas/municipio/76001/")
    page.click("#factsheet-batch-start")
    page.wait_for_selector("#factsheet-batch-status:has-text('Lote en cola')")
    job = Job.objects.get(kind="factsheets")
    assert len(job.params["subjects"]) == 47
    Job.objects.filter(pk=job.pk).update(params={**job.params, "subjects": [["municipio", "76001"]]})  # one sheet: fast
    jobs.run_inline(job)  # what geosig_worker does
    page.wait_for_selector("#factsheet-batch-download:not([hidden])", timeout=30_000)
    assert "Fichas generadas: 1." in page.inner_text("#factsheet-batch-status")
    href = page.get_attribute("#factsheet-batch-download", "href")
    resp = page.request.get(href)
    assert resp.status == 200 and resp.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.body())) as zf:
        assert zf.namelist() == ["ficha_municipio_76001.pdf"] and zf.read("ficha_municipio_76001.pdf")[:5] == b"%PDF-"
    assert external_requests(page, live_server) == []
