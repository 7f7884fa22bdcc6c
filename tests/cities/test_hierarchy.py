import numpy as np
import pytest

from cities.services import hierarchy as H
from geosig.errors import InvalidParameter


def test_perfect_guttman_scale_has_reproducibility_one():
    # rows: cities; columns: functions. Each city holds the k most common functions (shuffled order).
    perfect = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    shuffled = perfect[[3, 0, 4, 2, 1]][:, [2, 0, 3, 1]] * np.array([1, 3, 2, 5])  # counts, not only 0/1
    s = H.scalogram(shuffled)
    assert s.errors == 0
    assert s.reproducibility == 1.0
    assert s.presence.tolist() == perfect.tolist()


def test_scalogram_counts_errors_by_hand():
    # a city with 1 function holding the rarest one instead of the commonest: 2 cells differ from the ideal
    m = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 1]])
    s = H.scalogram(m)
    assert s.errors == 2
    assert s.reproducibility == pytest.approx(1 - 2 / 12)


def test_centrality_index_hand_values():
    counts = np.array([[2, 1], [2, 0], [0, 0]])
    idx, w = H.centrality_index(counts)
    assert w.tolist() == [25.0, 100.0]  # 100 / total count of each function
    assert idx.tolist() == [150.0, 50.0, 0.0]


def test_classify():
    labels = H.classify([1.0, 0.4, 0.1, 0.0], {"A": 0.5, "B": 0.2, "C": 0.05}, ["A", "B", "C", "D"])
    assert labels == ["A", "B", "C", "D"]


def test_empty_inventory_is_refused():
    with pytest.raises(InvalidParameter, match="vacío"):
        H.scalogram(np.zeros((0, 3)))
