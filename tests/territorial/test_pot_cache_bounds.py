"""The POT conflict cache is bounded: parameters rounded to the page's steps (nearby values share an
entry), and at most POT_CONFLICT_CACHE_MAX_ENTRIES entries / _MAX_BYTES bytes per mode, oldest out."""
import pytest

from territorial.pot.services.conflicts import DEFAULTS, _key, analyse_conflicts, rounded
from territorial.pot.services.plans import save_zones

from .test_pot_fixtures import cabecera_m, cali_plan, fc, pot_users, square_feature  # noqa: F401

pytestmark = pytest.mark.django_db
INTERNAL_KEYS = ["sliver_m2", "sliver_width_m", "min_m2", "noise_width_m"]


@pytest.fixture
def zoned(pot_users, cali_plan):
    x, y = cabecera_m(pot_users["cali"])
    save_zones(pot_users["planner"], cali_plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano"),
                                                   square_feature(x + 900, y, x + 1900, y + 1000, "rural")), 1)
    cali_plan.refresh_from_db()
    return cali_plan


def _entries(plan, mode="internal"):
    from territorial.pot.models import ConflictCache

    return ConflictCache.objects.filter(plan=plan, mode=mode)


def _internal_key(sliver_m2):
    return _key(dict(DEFAULTS, sliver_m2=float(sliver_m2)), INTERNAL_KEYS)


def _summary(report):
    return sorted((f["kind"], round(f["area_m2"] or 0)) for f in report.findings)


def test_entries_capped_per_mode_newest_survive(pot_users, zoned, settings):
    settings.POT_CONFLICT_CACHE_MAX_ENTRIES = 3
    first = {}
    for sliver in (100, 200, 300, 400, 500):
        report = analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["internal"], sliver_m2=sliver)
        assert report.findings
        first[sliver] = _summary(report)
    keys = set(_entries(zoned).values_list("key", flat=True))
    assert len(keys) == 3
    assert keys == {_internal_key(s) for s in (300, 400, 500)}  # the most recent entries survive
    # an evicted parameter set is computed again, with the same answer (and the cap still holds)
    again = analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["internal"], sliver_m2=100)
    assert _summary(again) == first[100]
    assert _entries(zoned).count() == 3 and _entries(zoned).filter(key=_internal_key(100)).exists()


def test_other_modes_are_not_evicted_by_one_mode(pot_users, zoned, settings):
    settings.POT_CONFLICT_CACHE_MAX_ENTRIES = 2
    analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["determinants"])
    for sliver in (100, 200, 300):
        analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["internal"], sliver_m2=sliver)
    assert _entries(zoned).count() == 2
    assert _entries(zoned, "determinants").count() == 1


def test_bytes_capped(pot_users, zoned, settings):
    from django.db.models import Sum

    analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["internal"], sliver_m2=100)
    one = _entries(zoned).aggregate(b=Sum("size_bytes"))["b"]
    assert one > 0
    settings.POT_CONFLICT_CACHE_MAX_BYTES = int(one * 1.5)  # room for one entry, not two
    analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["internal"], sliver_m2=200)
    assert list(_entries(zoned).values_list("key", flat=True)) == [_internal_key(200)]


def test_csv_download_reuses_the_json_entry(pot_users, zoned, settings):
    """A CSV (no geometry) reads the JSON report's entry: the geometry is stored with the rows either way."""
    settings.POT_CONFLICT_CACHE_MAX_ENTRIES = 2
    analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["internal"])
    entry = _entries(zoned).get()
    csv = analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["internal"], with_geometry=False)
    assert list(_entries(zoned).values_list("pk", "key")) == [(entry.pk, _internal_key(1000.0))]
    assert csv.findings and all(f["geometry"] is None for f in csv.findings)


def test_nearby_values_share_one_entry(pot_users, zoned):
    a = analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["internal"], sliver_m2="999.6")
    b = analyse_conflicts(pot_users["analyst"], plan_id=zoned.pk, modes=["internal"], sliver_m2="1000.4")
    assert a.params["sliver_m2"] == b.params["sliver_m2"] == 1000.0
    assert "sliver_m2 = 999.6 se redondeó a 1000 (paso de 1)." in a.notes
    assert _entries(zoned).count() == 1


@pytest.mark.parametrize("name, value, expected", [
    ("buffer_m", 24, 20.0), ("buffer_m", 25, 30.0), ("buffer_m", 2000, 2000.0), ("buffer_m", 0, 0.0),
    ("ronda_m", 30.4, 30.0), ("ronda_m", 30.5, 31.0), ("sliver_m2", 0.4, 0.0),
])
def test_rounding_to_the_page_steps(name, value, expected):
    p, notes = rounded(dict(DEFAULTS, **{name: float(value)}))
    assert p[name] == expected
    assert bool(notes) == (float(value) != expected)
