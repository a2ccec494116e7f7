"""``plan_sites``' stages on a prepared city, process CPU seconds each: where a siting run's time goes.

    QUARTERHOUR_CACHE=STORE PYTHONPATH=<checkout> python benchmarks/bench_siting_stages.py --city DIR [--rounds 3]

The inputs are the command's own: ``quarterhour site`` (k = 5, the city's units) is run in this process up
to the siting, and ``plan_sites``' arguments are taken there (nothing is solved by it). Then each stage of the
app's call (the 200 m grid, the curve to k = 10) is timed ``--rounds`` times, the least CPU kept. Run it with
another checkout on ``PYTHONPATH`` for the baseline (it calls only what both have).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


class _Taken(Exception):
    """``plan_sites``' arguments, taken."""


def city_inputs(city: Path) -> tuple[tuple, dict]:
    """``plan_sites``' arguments as ``quarterhour site`` k = 5 passes them on ``city``."""
    import analysis.siting as S
    from quarterhour.cli.main import main

    taken: dict = {}

    def take(*args, **kwargs):
        taken.update(args=args, kwargs=kwargs)
        raise _Taken

    S.plan_sites, real = take, S.plan_sites
    argv = ["site", "--network", str(city / "network.graphml"), "--facilities", str(city / "facilities.geojson")]
    argv += ["--demand", str(city / "demand.gpkg"), "--boundaries", str(city / "boundaries.gpkg")]
    argv += ["--model", "mclp", "--k", "5", "--out", "/tmp/qh-siting-stages", "--force"]
    try:
        main(argv)  # stops at the siting: the internal-error path says so on stderr, which is expected here
    finally:
        S.plan_sites = real
    return taken["args"], taken["kwargs"]


def stages(args: tuple, kwargs: dict, rounds: int) -> tuple[dict[str, float], dict]:
    """The least process CPU of each stage over ``rounds``, and what was chosen."""
    import scipy.optimize  # noqa: F401 -- imported before, as in the app

    import analysis._siting_reach as R
    import analysis.siting as S

    network, covered, d_snap = args
    units = kwargs["boundaries"]
    best: dict[str, float] = {}
    for _ in range(rounds):
        network.derived.pop("node_names", None)  # each round as a fresh process would find it
        spent: dict[str, float] = {}
        mark = [time.process_time()]

        def tick(name: str, spent=spent, mark=mark) -> None:
            now = time.process_time()
            spent[name] = spent.get(name, 0.0) + now - mark[0]
            mark[0] = now

        left = S.left_out(covered, d_snap, minutes=15, speed_kmh=4.5)
        cands = S.candidate_sites(network, spacing_m=200, within=S.units_area(units), left=left)
        cands, _ = S._in_units(cands, units)
        c_snap = S.snap_candidates(cands, network)
        tick("candidates (grid, pockets between them, in the units)")
        kept = np.flatnonzero(R.reaching(network, c_snap, left, limit_s=900))
        tick("who the candidates reach at all (one multi-source pass)")
        secs = R.coverage_matrix(network, c_snap.iloc[kept], left.snaps, cutoff_s=900, speed_kmh=4.5)
        tick("coverage matrix")
        cover = S._in_time(secs, 900)
        model = S.mclp_model(cover, left.pop)
        tick("reduced MCLP")
        sol = S._mclp(cover, left.pop, 5, capacity=None, time_limit_s=20, model=model)
        tick("solve k = 5")
        sites, _ = S._explain(cands.iloc[kept], sol.chosen, secs, cutoff_s=900, weight=left.pop)
        sites = S._served(sites, network, c_snap.iloc[kept].iloc[sol.chosen], covered, d_snap, speed_kmh=4.5)
        for level, polygons in units.items():
            sites[level] = S.assign_units(sites, polygons.to_crs(sites.crs)).to_numpy()
        S._unreached(network, left, left.pop, np.diff(cover.tocsc().indptr) > 0, "mclp")
        S._site_isochrones(network, sites, c_snap, minutes=15, speed_kmh=4.5)
        tick("the answer (explained, served, units, reach)")
        S._curve(cover, left.pop, before=0, total=1, k_max=10, time_limit_s=20, model=model)
        tick("curve k = 1 ... 10 (app)")
        for name, s in spent.items():
            best[name] = min(best.get(name, np.inf), s)
    chosen = {"sites": list(cands.iloc[kept].iloc[sol.chosen].index), "objective": sol.objective, "pairs": secs.nnz}
    return best, chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    best, chosen = stages(*city_inputs(a.city), a.rounds)
    print(chosen)
    for name, s in best.items():
        print(f"| {name} | {s:.2f} |")
    print(f"| total | {sum(best.values()):.2f} |")


if __name__ == "__main__":
    main()
