"""The commands at city scale: the whole ``quarterhour run`` process, cold and warm, against the osmnx-tutorial way.

    python benchmarks/bench_cli.py                          # 100k nodes, 800 facilities, 50,000 resident points
    python benchmarks/bench_cli.py --nodes 1000000 --no-baseline --no-report
    python benchmarks/bench_cli.py --repeat 3 --keep city/  # keep the files (and reuse them next time)

It writes the synthetic city (``synthetic_city.py``) as a planner would have it:
the network as osmnx GraphML in lon/lat, facilities as GeoJSON, residents as a
GeoPackage, and 7 district strips plus the city as review units. Then, each as
its own process (``python -m quarterhour.cli ...``), timed by wall clock with its
peak RSS from ``os.wait4`` (that child's own rusage); each command's stderr, with
its step lines (``[3/6] travel times … 3.1 s``), is kept in ``WORK/*.log`` and the
step times of the last warm run are printed:

- ``run`` cold: a fresh, empty network store (``QUARTERHOUR_CACHE`` set to a new
  folder; harmless where the store does not exist yet);
- ``run`` warm: again with the same store (``--repeat`` times; the median is quoted);
- the osmnx-tutorial way on the same files (``benchmarks/baselines.py``): load the
  GraphML, project it, time on each edge, then ego_graph + buffer + union per
  facility; run once (it takes minutes);
- ``report --level district`` on the 7 districts (a siting run each), warm.

Goals (issue 13): at 100k, warm run >= 20x the tutorial way, cold >= 5x, peak
<= 2 GiB; at 1M, warm <= 60 s and <= 4 GiB; the district report warm <= 30 s
and <= 2 GiB.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIB_MB = 1024.0

__all__ = ["main", "timed_process", "write_city"]


def _tree_pss_mb(pid: int) -> float:
    """The proportional set size (MB) of ``pid`` and every process below it: pages shared after a fork count once."""
    total_kb, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total_kb += next(int(ln.split()[1]) for ln in rollup.splitlines() if ln.startswith("Pss:"))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue  # the process ended meanwhile
    return total_kb / 1024


class _TreePeak(threading.Thread):
    """Samples the whole process tree's PSS every 0.1 s (a command that forks workers has several processes)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_mb, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.peak_mb = max(self.peak_mb, _tree_pss_mb(self.pid))


def timed_process(cmd: list[str], *, env: dict[str, str] | None = None, log: Path | None = None) -> tuple[float, float]:
    """Run ``cmd`` as a child process: (wall-clock seconds, peak memory in MB of that child and its workers).

    The peak is the larger of the biggest single process's peak RSS and the whole
    process tree's PSS, sampled every 0.1 s (``report`` forks workers that share the
    run's pages: their RSS counted in full would count those pages twice).

    The peak comes from GNU time (``/usr/bin/time -f %M``) where it is installed: a child's own
    ``ru_maxrss`` from ``os.wait4`` would include this script's memory, because Linux carries the
    high-water mark of the address space a child is forked (or vforked) from over its ``exec``,
    and this script holds the city it wrote. Without GNU time the figure is an upper bound.

    Raises
    ------
    RuntimeError
        The command failed; the message holds the end of its stderr.
    """
    gnu_time = Path("/usr/bin/time")
    peak_file = Path(tempfile.mkstemp(suffix=".peak")[1]) if gnu_time.exists() else None
    if peak_file:
        cmd = [str(gnu_time), "-f", "%M", "-o", str(peak_file), *cmd]
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 -- closed below, after the child
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    tree = _TreePeak(proc.pid)
    tree.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    tree.done.set()
    tree.join()
    if log:
        out.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log else ""
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited with {code}:\n{tail}")
    if peak_file:
        kb = float(peak_file.read_text().split()[-1])
        peak_file.unlink()
        return wall, max(kb / 1024, tree.peak_mb)
    return wall, max(usage.ru_maxrss / 1024, tree.peak_mb)  # Linux: kilobytes (an upper bound: see above)


_GRAPHML_HEAD = """<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">
  <key id="d8" for="edge" attr.name="oneway" attr.type="string" />
  <key id="d7" for="edge" attr.name="highway" attr.type="string" />
  <key id="d6" for="edge" attr.name="length" attr.type="string" />
  <key id="d5" for="edge" attr.name="osmid" attr.type="string" />
  <key id="d4" for="edge" attr.name="reversed" attr.type="string" />
  <key id="d3" for="node" attr.name="street_count" attr.type="string" />
  <key id="d2" for="node" attr.name="y" attr.type="string" />
  <key id="d1" for="node" attr.name="x" attr.type="string" />
  <key id="d0" for="graph" attr.name="crs" attr.type="string" />
  <graph edgedefault="directed">
"""
_GRAPHML_NODE = "".join(
    (
        '    <node id="{}">\n',
        '      <data key="d1">{!r}</data>\n',
        '      <data key="d2">{!r}</data>\n',
        '      <data key="d3">4</data>\n',
        "    </node>\n",
    )
)
_GRAPHML_EDGE = "".join(
    (
        '    <edge source="{}" target="{}" id="0">\n',
        '      <data key="d4">{}</data>\n',
        '      <data key="d5">{}</data>\n',
        '      <data key="d6">{!r}</data>\n',
        '      <data key="d7">residential</data>\n',
        '      <data key="d8">False</data>\n',
        "    </edge>\n",
    )
)


def write_graphml(path: Path, lon, lat, segments) -> None:
    """The city's streets as osmnx GraphML, both ways of each segment, streamed.

    ``segments`` is (u, v, length in metres) as arrays. The file holds the very bytes ``osmnx.save_graphml`` writes
    for the same MultiDiGraph, without building it (networkx took over 20 GB writing a 1M-corner city).
    """
    import numpy as np

    u, v, length = segments
    # networkx writes each node's out-edges in the order they were added: segment k adds u->v, then v->u
    src = np.column_stack([u, v]).ravel()
    dst = np.column_stack([v, u]).ravel()
    seg = np.repeat(np.arange(len(u)), 2)
    order = np.argsort(src, kind="stable")
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(_GRAPHML_HEAD)
        out.writelines(
            _GRAPHML_NODE.format(i, x, y) for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True))
        )
        back = (np.arange(len(src)) % 2 == 1)[order].tolist()
        w = length.tolist()
        out.writelines(
            _GRAPHML_EDGE.format(a, b, r, k, w[k])
            for a, b, k, r in zip(src[order].tolist(), dst[order].tolist(), seg[order].tolist(), back, strict=True)
        )
        out.write('    <data key="d0">epsg:4326</data>\n  </graph>\n</graphml>\n')
    tmp.replace(path)


def write_city(folder: Path, *, n_nodes: int, n_facilities: int, n_residents: int) -> dict[str, Path]:
    """The synthetic city as files: GraphML (lon/lat), facilities GeoJSON, residents and units GeoPackages."""
    import geopandas as gpd
    import numpy as np
    import pyproj
    import shapely
    from synthetic_city import synthetic_city

    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        name: folder / f"{name}{ext}"
        for name, ext in (
            ("network", ".graphml"),
            ("facilities", ".geojson"),
            ("demand", ".gpkg"),
            ("boundaries", ".gpkg"),
        )
    }
    stamp = folder / f"city-{n_nodes}-{n_facilities}-{n_residents}.done"
    if stamp.exists() and all(p.exists() for p in paths.values()):
        return paths
    net, fac, dem = synthetic_city(n_nodes, n_facilities=n_facilities, n_residents=n_residents)
    lon, lat = pyproj.Transformer.from_crs(net.crs, 4326, always_xy=True).transform(
        net.nodes["x"].to_numpy(), net.nodes["y"].to_numpy()
    )
    e = net.edges
    write_graphml(paths["network"], lon, lat, (e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy()))
    fac.to_crs(4326).to_file(paths["facilities"], driver="GeoJSON", index=False)
    dem.to_crs(4326).to_file(paths["demand"], driver="GPKG", index=False)
    x0, y0, x1, y1 = net.edges.total_bounds
    edges = np.linspace(x0 - 1, x1 + 1, 8)
    strips = [shapely.box(a, y0 - 1, b, y1 + 1) for a, b in itertools.pairwise(edges)]
    districts = gpd.GeoDataFrame(
        {"code": [f"D{i + 1}" for i in range(7)], "name": [f"第{i + 1}区" for i in range(7)]},
        geometry=strips,
        crs=net.crs,
    ).to_crs(4326)
    city = gpd.GeoDataFrame({"code": ["C"], "name": ["合成市"]}, geometry=[shapely.union_all(strips)], crs=net.crs)
    paths["boundaries"].unlink(missing_ok=True)
    city.to_crs(4326).to_file(paths["boundaries"], layer="city", driver="GPKG")
    districts.to_file(paths["boundaries"], layer="district", driver="GPKG", mode="a")
    stamp.touch()
    return paths


def _tutorial(args: argparse.Namespace) -> None:
    """The osmnx-tutorial way, as one process: load the GraphML, project, time per edge, isochrones per facility."""
    import geopandas as gpd
    import osmnx as ox
    from baselines import tutorial_isochrones

    g = ox.project_graph(ox.load_graphml(args.network))
    speed_ms = args.speed_kmh / 3.6
    for _, _, data in g.edges(data=True):
        data["time"] = data["length"] / speed_ms
    fac = gpd.read_file(args.facilities).to_crs(g.graph["crs"])
    centres = list(ox.distance.nearest_nodes(g, fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()))
    reach = tutorial_isochrones(g, centres, args.minutes * 60, 50.0)
    print(f"{len(reach)} isochrones")


def _row(name: str, walls: list[float], peaks: list[float]) -> tuple[str, float, float]:
    wall, peak = statistics.median(walls), max(peaks)
    runs = f" (median of {len(walls)}: {', '.join(f'{w:.1f}' for w in walls)})" if len(walls) > 1 else ""
    print(f"  {name:<34} {wall:8.1f} s  peak {peak:7,.0f} MB{runs}", flush=True)
    return name, wall, peak


def _goal(text: str, met: bool) -> None:
    print(f"  {text}: {'met' if met else 'NOT met'}")


def _measure(a: argparse.Namespace, paths: dict[str, Path], work: Path) -> dict[str, tuple[float, float]]:
    py = [sys.executable, "-m", "quarterhour.cli"]
    inputs = [f"--{name}={paths[name]}" for name in ("network", "facilities", "demand")]
    inputs += [f"--minutes={a.minutes:g}", f"--speed-kmh={a.speed_kmh:g}"]
    store = work / "store"
    env = {**os.environ, "QUARTERHOUR_CACHE": str(store), "PYTHONPATH": str(ROOT)}
    got: dict[str, tuple[float, float]] = {}
    print("whole process, wall clock and peak RSS:", flush=True)
    runs = work / "runs"
    cold = timed_process([*py, "run", *inputs, "--out", str(runs / "cold")], env=env, log=work / "cold.log")
    got["run cold"] = _row("run, cold (empty store)", [cold[0]], [cold[1]])[1:]
    warm = [
        timed_process([*py, "run", *inputs, "--out", str(runs / f"warm{i}")], env=env, log=work / f"warm{i}.log")
        for i in range(a.repeat)
    ]
    got["run warm"] = _row("run, warm", [w for w, _ in warm], [p for _, p in warm])[1:]
    steps = [ln for ln in (work / f"warm{a.repeat - 1}.log").read_text(encoding="utf-8").splitlines() if ln[:1] == "["]
    print(f"    steps of the last warm run: {'; '.join(steps)}", flush=True)
    if not a.no_report:
        rep = [
            timed_process(
                [
                    *py,
                    "report",
                    *inputs,
                    "--boundaries",
                    str(paths["boundaries"]),
                    *["--level", "district", "--k", "3"],
                    "--out",
                    str(runs / f"pack{i}"),
                ],
                env=env,
                log=work / f"report{i}.log",
            )
            for i in range(a.report_repeat)
        ]
        got["report warm"] = _row("report --level district (7), warm", [w for w, _ in rep], [p for _, p in rep])[1:]
    if not a.no_baseline:
        tut = timed_process(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "tutorial",
                "--network",
                str(paths["network"]),
                "--facilities",
                str(paths["facilities"]),
                *f"--minutes {a.minutes:g} --speed-kmh {a.speed_kmh:g}".split(),
            ],
            env={**env, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'benchmarks'}"},
            log=work / "tutorial.log",
        )
        got["tutorial"] = _row("osmnx-tutorial way (GraphML load in)", [tut[0]], [tut[1]])[1:]
    return got


def _verdict(a: argparse.Namespace, got: dict[str, tuple[float, float]]) -> None:
    (cold, cold_mb), (warm, warm_mb) = got["run cold"], got["run warm"]
    print("goals:")
    if a.nodes >= 1_000_000:
        _goal(f"1M: run warm {warm:.1f} s <= 60 s", warm <= 60)
        _goal(f"1M: run peak {max(cold_mb, warm_mb):,.0f} MB <= 4 GiB", max(cold_mb, warm_mb) <= 4 * GIB_MB)
    else:
        _goal(f"run peak {max(cold_mb, warm_mb):,.0f} MB <= 2 GiB", max(cold_mb, warm_mb) <= 2 * GIB_MB)
    if "tutorial" in got:
        base = got["tutorial"][0]
        _goal(f"run warm {base / warm:.1f}x the tutorial way (>= 20x)", base / warm >= 20)
        _goal(f"run cold {base / cold:.1f}x the tutorial way (>= 5x)", base / cold >= 5)
    if "report warm" in got:
        rw, rmb = got["report warm"]
        _goal(f"report --level district warm {rw:.1f} s <= 30 s", rw <= 30)
        _goal(f"report peak {rmb:,.0f} MB <= 2 GiB", rmb <= 2 * GIB_MB)


def main() -> None:
    """Write the city, time the commands and the tutorial way, print the table and the goals."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", nargs="?", choices=("bench", "tutorial"), default="bench", help=argparse.SUPPRESS)
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--facilities", default=800, help="facility count (bench) or file (tutorial)")
    p.add_argument("--residents", type=int, default=50_000)
    p.add_argument("--minutes", type=float, default=15.0)
    p.add_argument("--speed-kmh", type=float, default=4.5)
    p.add_argument("--repeat", type=int, default=3, help="warm runs of 'run' (median quoted)")
    p.add_argument("--report-repeat", type=int, default=1, help="warm runs of 'report'")
    p.add_argument("--no-baseline", action="store_true", help="skip the osmnx-tutorial way (minutes at 100k)")
    p.add_argument("--no-report", action="store_true", help="skip 'report --level district'")
    p.add_argument("--keep", type=Path, help="write the city files here and keep them (reused when present)")
    p.add_argument("--network", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.mode == "tutorial":
        a.facilities = Path(a.facilities)
        _tutorial(a)
        return
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        paths = write_city(a.keep or work / "city", n_nodes=a.nodes, n_facilities=int(a.facilities),
                           n_residents=a.residents)  # fmt: skip
        size = paths["network"].stat().st_size / 1e6
        print(f"city: {a.nodes:,} nodes asked, {int(a.facilities)} facilities, {a.residents:,} resident points; "
              f"GraphML {size:.0f} MB; files ready in {time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        got = _measure(a, paths, work)
        _verdict(a, got)


if __name__ == "__main__":
    main()
