"""The planners' words for the faces (app, map, CLI): Chinese first, English available."""

from __future__ import annotations

__all__ = ["LANGS", "both", "t"]

LANGS = {"zh": "中文", "en": "English"}

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("一刻钟党建服务圈", "15-minute party-service circle"),
    "subtitle": ("步行可达覆盖分析", "walking coverage of party-mass service points"),
    "covered_headline": ("{minutes:g} 分钟步行覆盖居民", "residents within a {minutes:g}-minute walk"),
    "coverage_rate": ("覆盖率", "coverage rate"),
    "uncovered": ("未覆盖居民", "residents left out"),
    "facilities": ("服务设施", "facilities"),
    "reach": ("{minutes:g} 分钟等时圈", "{minutes:g}-minute reach"),
    "reach_each": ("各设施等时圈", "reach of each facility"),
    "catchments": ("就近服务范围（按最先到达的设施划分）", "catchments (each place to the facility reaching it first)"),
    "streets": ("步行路网", "walking streets"),
    "residents_uncovered": ("未覆盖居民点", "uncovered residents"),
    "residents_covered": ("已覆盖居民点", "covered residents"),
    "gaps": ("服务盲区（{cell:g} 米网格）", "coverage gaps ({cell:g} m grid)"),
    "sites": ("新增布点建议", "suggested new site"),
    "residents": ("居民", "residents"),
    "minutes": ("分钟", "minutes"),
    "rank": ("排名", "rank"),
    "name": ("名称", "name"),
    "category": ("类别", "category"),
    "new_covered": ("新增覆盖居民", "residents newly covered"),
    "walk_minutes": ("步行分钟", "walking minutes"),
    "nearest": ("最近设施", "nearest facility"),
    "legend": ("图例", "legend"),
    "settings": ("参数", "settings"),
    "language": ("语言 / Language", "语言 / Language"),
    "threshold": ("步行时间阈值（分钟）", "walking threshold (minutes)"),
    "speed": ("步行速度（千米/小时）", "walking speed (km/h)"),
    "categories_used": ("计入的设施类别", "facility categories counted"),
    "basemap": ("OSM 在线底图（需联网）", "OSM online basemap (needs internet)"),
    "data_source": (
        "数据：示例（摩纳哥）© OpenStreetMap 贡献者，ODbL",
        "Data: sample (Monaco) © OpenStreetMap contributors, ODbL",
    ),
    "gap_table": ("服务盲区排名", "gaps ranked by residents left out"),
    "site_table": ("新增布点建议", "suggested new site"),
    "skipped": ("未纳入分析", "left out of the analysis"),
    "no_facilities": ("没有选中的设施类别。", "No facility category selected."),
    "download_gpkg": ("下载全部图层（GeoPackage）", "download all layers (GeoPackage)"),
    "n_points": ("居民点数", "resident points"),
    "n_cells": ("网格数（100 米）", "cells (100 m)"),
    "by_level": ("分级覆盖（市 → 区 → 街道 → 社区）", "coverage by level (city → district → sub-district → community)"),
    "level": ("层级", "level"),
    "covered_residents": ("已覆盖居民", "residents covered"),
    "status": ("覆盖状态", "status"),
    "communities_full": ("全覆盖社区", "communities fully covered"),
    "communities_partly": ("部分覆盖社区", "communities partly covered"),
    "communities_none": ("未覆盖社区", "communities not covered"),
    "community_layer": ("社区覆盖率", "coverage by community"),
    "units": ("评估单元（行政边界）", "review units (boundaries)"),
    "units_sample": ("示例：摩纳哥", "sample: Monaco"),
    "units_luoyang": ("洛阳市及 7 个区", "Luoyang and its 7 districts"),
    "units_upload": ("上传边界文件", "upload boundaries"),
    "units_file": (
        "GeoJSON / GeoPackage / 压缩 Shapefile，含 level、code、name 列",
        "GeoJSON / GeoPackage / zipped Shapefile with level, code, name",
    ),
    "siting": ("新增布点（选址模型）", "siting new centres"),
    "model": ("模型", "model"),
    "model_mclp": ("最大覆盖（MCLP）：k 个新中心覆盖最多居民", "maximal coverage (MCLP): k centres covering most"),
    "model_lscp": ("集合覆盖（LSCP）：达到目标的最少中心", "set cover (LSCP): fewest centres reaching the target"),
    "model_pmedian": ("p 中值：k 个新中心使步行时间最短", "p-median: k centres minimising the walk"),
    "new_centres": ("新增中心数 k", "new centres k"),
    "target": ("目标覆盖率（集合覆盖）", "target coverage (set cover)"),
    "run_siting": ("计算选址", "suggest sites"),
    "before": ("现状覆盖居民", "covered now"),
    "after": ("新增后覆盖居民", "covered with the new centres"),
    "solver": ("求解", "solved by"),
    "curve": (
        "覆盖曲线：新增 k 个中心（k = 1 … 10）后的覆盖率 %",
        "coverage curve: % covered with k = 1 … 10 new centres",
    ),
    "site_reach": ("新增中心等时圈", "reach of the new centres"),
    "bug": ("程序出错，这是一个缺陷，请报告：", "Something went wrong. This is a bug; please report it:"),
}


def t(key: str, lang: str = "zh", **values: object) -> str:
    """The label ``key`` in ``lang`` ("zh" or "en"), formatted with ``values``.

    Examples
    --------
    >>> t("reach", "en", minutes=15)
    '15-minute reach'
    >>> t("reach", minutes=15)
    '15 分钟等时圈'
    """
    zh, en = _TEXT[key]
    return (en if lang == "en" else zh).format(**values)


def both(key: str) -> str:
    """The label in Chinese and English together, for choices that must not change with the language.

    Examples
    --------
    >>> both("units_luoyang")
    '洛阳市及 7 个区 · Luoyang and its 7 districts'
    """
    zh, en = _TEXT[key]
    return f"{zh} · {en}"
