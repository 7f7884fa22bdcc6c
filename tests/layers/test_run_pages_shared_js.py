"""The corridors, connectivity and Circuitscape pages share one copy of their DOM builder and run polling
(geosig/jobpage.js): each page loads it before its own script and keeps no copy of its own. (Behaviour:
test_corridors_page.py, test_connectivity_page.py and test_circuitscape_page.py in the browser.)"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"/corredores/": "layers/corridors.js", "/conectividad/": "layers/connectivity.js",
         "/corredores/circuitscape/": "layers/circuitscape.js"}


@pytest.mark.django_db
@pytest.mark.parametrize("url, script", PAGES.items())
def test_page_loads_the_shared_script_first_and_keeps_no_copy(client, url, script):
    html = client.get(url).content.decode()
    srcs = re.findall(r'<script src="/static/([^"]+)"', html)
    assert "geosig/jobpage.js" in srcs and script in srcs
    assert srcs.index("geosig/shell.js") < srcs.index("geosig/jobpage.js") < srcs.index(script)
    own = (ROOT / "layers/static" / script).read_text(encoding="utf-8")
    assert "function el(" not in own and "setTimeout" not in own
    assert "GeoSIG.followRun" in own
    assert "GeoSIG.el" in own or script == "layers/circuitscape.js"  # that page builds its few nodes by hand
