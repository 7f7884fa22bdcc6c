"""The conflicts page in headless Chromium, whole department on a cold cache: an anonymous visitor sees «en
cálculo» while the job is queued (the page polls the public jobs API), and the report once a worker ran it."""
import pytest

from tests.conftest import external_requests, wait_for_js

from .test_pot_conflicts_job import published  # noqa: F401  (fixture)
from .test_pot_fixtures import cabecera_m, cali_plan, fc, pot_users, square_feature  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_anonymous_follows_the_department_job_then_sees_the_report(page, live_server, published):
    from jobs import services as jobs
    from jobs.models import Job

    page.goto(f"{live_server.url}/pot/conflictos/")
    page.click("#cf-form button[type=submit]")  # «Todo el departamento» is the default scope
    page.wait_for_selector("#cf-status:has-text('en cola')")
    assert page.locator("#cf-progress").is_visible()
    job = Job.objects.get(kind="pot_conflicts")
    assert job.owner is None and job.state == "queued"
    jobs.run_inline(job)  # what geosig_worker does
    page.wait_for_selector("#cf-status:has-text('Valle del Cauca')", timeout=30_000)
    wait_for_js(page, "document.querySelectorAll('#cf-table tbody tr').length > 0")
    assert not page.locator("#cf-progress").is_visible()
    assert Job.objects.filter(kind="pot_conflicts").count() == 1
    assert external_requests(page, live_server) == []
