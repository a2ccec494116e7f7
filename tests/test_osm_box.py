"""The download box's size limit: one check in ``geo.osm``, so the CLI's ``--bbox`` and the app both get it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from geo import InputError
from geo.osm import MAX_BOX_KM2, box_km2, download_walk_network

#: About 30 × 30 km at Monaco's latitude: far over the limit.
BIG_BOX = (7.2, 43.6, 7.573, 43.87)


def test_box_area_in_km2():
    assert box_km2((7.41, 43.73, 7.44, 43.75)) == pytest.approx(5.3, abs=0.05)
    assert box_km2(BIG_BOX) > MAX_BOX_KM2


def test_a_big_box_is_refused_before_any_download(tmp_path):
    with pytest.raises(InputError, match=r"about 896 km², over the 400 km² limit.*Fix: give a smaller box"):
        download_walk_network(bbox=BIG_BOX, cache_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_cli_bbox_over_the_limit_exits_2_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "quarterhour.cli", "run", "--bbox", ",".join(map(str, BIG_BOX)), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the box is about")
    assert "400 km²" in lines[0] and "--network" in lines[0]
    assert not any(tmp_path.iterdir())
