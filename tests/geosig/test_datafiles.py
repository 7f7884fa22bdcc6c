import hashlib

import pytest

from geosig.datafiles import fetch_data, read_manifest
from geosig.errors import DataFileError


def _manifest(raw, rows):
    raw.mkdir(parents=True, exist_ok=True)
    lines = ["path,sha256,licence,source_url"] + [f"{p},{h},lic,https://example.org/{p}" for p, h in rows]
    (raw / "MANIFEST.csv").write_text("\n".join(lines) + "\n")


def test_copies_from_mirror_and_verifies(tmp_path):
    mirror, raw = tmp_path / "mirror", tmp_path / "raw"
    (mirror / "a").mkdir(parents=True)
    (mirror / "a" / "x.csv").write_text("hola\n")
    _manifest(raw, [("a/x.csv", hashlib.sha256(b"hola\n").hexdigest())])
    report = fetch_data(raw, mirror, base_url="")
    assert report.copied == ["a/x.csv"] and (raw / "a" / "x.csv").read_text() == "hola\n"
    again = fetch_data(raw, mirror, base_url="")
    assert again.unchanged == ["a/x.csv"] and not again.copied


def test_checksum_mismatch_stops_and_leaves_no_file(tmp_path):
    mirror, raw = tmp_path / "mirror", tmp_path / "raw"
    mirror.mkdir()
    (mirror / "x.csv").write_text("alterado\n")
    _manifest(raw, [("x.csv", hashlib.sha256(b"original\n").hexdigest())])
    with pytest.raises(DataFileError, match="Suma de verificación distinta para x.csv"):
        fetch_data(raw, mirror, base_url="")
    assert sorted(p.name for p in raw.iterdir()) == ["MANIFEST.csv"]


def test_missing_everywhere_names_the_source(tmp_path):
    _manifest(tmp_path / "raw", [("x.csv", "0" * 64)])
    with pytest.raises(DataFileError, match="https://example.org/x.csv"):
        fetch_data(tmp_path / "raw", tmp_path / "nowhere", base_url="")


def test_manifest_rejects_paths_leaving_the_folder(tmp_path):
    _manifest(tmp_path / "raw", [("../etc/passwd", "0" * 64)])
    with pytest.raises(DataFileError, match="ruta no permitida"):
        read_manifest(tmp_path / "raw")


def test_project_manifest_lists_every_staged_file():
    entries = read_manifest()
    paths = {e.path for e in entries}
    assert "boundaries/valle_municipios_mgn2021.geojson" in paths
    assert "facts/nbi_cnpv2018_municipios_colombia.csv" in paths and "facts/idf_dnp2023_municipios_colombia.csv" in paths
    assert len(paths) == len(entries) == 27  # 23 + DANE NBI 2018 and DNP IDF 2023 (flat CSV and official workbook)
    assert all(len(e.sha256) == 64 for e in entries)
