"""BalanceParams: every query-string number is bounded before it reaches numpy (no 500s, no huge arrays)."""
import pytest

from cities.services.balance import BalanceParams
from geosig.errors import InvalidParameter


@pytest.mark.parametrize("raw, msg", [
    ({"permutations": "100000000"}, "permutations"),  # would allocate ~34 GB in the Theil test
    ({"permutations": "10000"}, "permutations"),
    ({"permutations": "-1"}, "permutations"),
    ({"seed": "-1"}, "seed"),  # numpy raises ValueError on a negative seed
    ({"gravity_beta": "nan"}, "gravity_beta"),
    ({"gravity_beta": "inf"}, "gravity_beta"),
    ({"gravity_beta": "1000"}, "gravity_beta"),  # 0.1 h ** -1000 overflows to inf
    ({"hansen_decay": "inf"}, "hansen_decay"),
    ({"min_travel_h": "1e-300"}, "min_travel_h"),
    ({"metropolis_min": "inf"}, "metropolis_min"),
    ({"rank_size_min": "nan"}, "rank_size_min"),
    ({"rank_size_min": "-5"}, "rank_size_min"),
    ({"symmetry_tolerance": "nan"}, "symmetry_tolerance"),
    ({"access_threshold_h": "nan"}, "access_threshold_h"),
    ({"functional_local_min": "1.5"}, "functional_local_min"),
    ({"functional_regional_min": "nan"}, "functional_regional_min"),
    ({"networkx_max_nodes": "-1"}, "networkx_max_nodes"),
    ({"local_detour": "0.5"}, "local_detour"),
])
def test_out_of_range_parameters_are_invalid(raw, msg):
    with pytest.raises(InvalidParameter, match=msg):
        BalanceParams.from_mapping(raw)


def test_bounds_are_inclusive_and_defaults_valid():
    BalanceParams().validate()
    p = BalanceParams.from_mapping({"permutations": "9999", "seed": "0", "gravity_beta": "10",
                                    "min_travel_h": "0.01", "functional_local_min": "0"})
    assert (p.permutations, p.seed, p.gravity_beta) == (9999, 0, 10.0)


def test_permutation_cap_is_a_setting(settings):
    settings.CITIES_MAX_PERMUTATIONS = 50
    assert BalanceParams.from_mapping({"permutations": "50"}).permutations == 50
    with pytest.raises(InvalidParameter, match="50"):
        BalanceParams.from_mapping({"permutations": "51"})
