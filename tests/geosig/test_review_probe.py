"""Review probe (issue #14 item 5): nasty requests against the newest endpoints: never a 5xx."""
import pytest

pytestmark = pytest.mark.django_db

NASTY = ["", "%00", "a%00b", "%ff%fe", "x" * 5000, "-1", "1e309", "NaN", "%0d%0aSet-Cookie:x=1", "<script>",
         "'; drop table x; --", "%C0%AF", "\u202e", "9" * 400]


def test_new_endpoints_answer_nasty_input_without_5xx(client, territory, make_user, settings):
    settings.GEOSIG_THROTTLE_ENABLED = False
    bad = []

    def probe(url, **kw):
        r = client.get(url, **kw)
        if r.status_code >= 500:
            bad.append((url[:120], r.status_code))
        return r

    for v in NASTY:
        probe(f"/api/v1/municipalities/search/?q={v}")
        probe(f"/api/v1/municipalities/search/?q=cali&limit={v}")
        probe(f"/ciudades/?permutations={v}&scenario={v}&matrix={v}&inventory={v}&alpha={v}&beta={v}")
        probe(f"/pot/?status={v}&municipality={v}")
        probe(f"/pot/conflictos/?plan={v}&municipality={v}&buffer_m={v}")
        probe(f"/capas/?layer={v}")
        probe(f"/corredores/?run={v}")
        probe(f"/api/v1/pot/plans/?status={v}&municipality={v}")
    for z, x, y in [(0, 0, 0), (30, 0, 0), (5, 99999, 0), (22, 2**22 - 1, 2**22 - 1), (99999, 1, 1),
                    (3, 10**30, 1), (0, 1, 0)]:
        probe(f"/api/v1/context/tiles/{z}/{x}/{y}.pbf")
        probe(f"/api/v1/context/relief/{z}/{x}/{y}.png")
        probe(f"/api/v1/context/tiles/{z}/{x}/{y}.pbf", HTTP_IF_NONE_MATCH='"' + "x" * 5000)
    client.force_login(make_user("rev", "Revisor CVC"))
    for v in NASTY:
        probe(f"/api/v1/pot/review-queue/?status={v}")
        probe(f"/pot/?status={v}&municipality={v}")
    assert bad == []
