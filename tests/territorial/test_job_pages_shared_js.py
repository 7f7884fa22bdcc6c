"""The pages that follow a job of the jobs API (the department's POT conflicts, the fact sheet batch) poll it
through geosig/jobpage.js's waitJob, loaded before their own script, and keep no polling of their own.
(Behaviour: test_pot_department_browser.py and tests/cities/test_factsheet_batch_browser.py in the browser.)"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _check(html: str, script: str) -> None:
    srcs = re.findall(r'<script src="/static/([^"]+)"', html)
    assert "geosig/jobpage.js" in srcs and script in srcs
    assert srcs.index("geosig/shell.js") < srcs.index("geosig/jobpage.js") < srcs.index(script)
    own = (ROOT / "territorial/static" / script).read_text(encoding="utf-8")
    assert "setTimeout" not in own and "GeoSIG.waitJob" in own


@pytest.mark.django_db
def test_conflicts_page(client):
    _check(client.get("/pot/conflictos/").content.decode(), "territorial/pot/conflicts.js")


def test_factsheet_page_with_the_batch(client, territory, make_user):
    client.force_login(make_user("jefa", is_staff=True))
    _check(client.get("/fichas/municipio/76001/").content.decode(), "territorial/factsheet_batch.js")
