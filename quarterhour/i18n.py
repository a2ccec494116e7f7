"""The planners' words for the faces (app, map, CLI): Chinese first, English available."""

from __future__ import annotations

import contextlib

__all__ = [
    "LANGS",
    "both",
    "category_both",
    "category_name",
    "error_words",
    "group_text",
    "level_both",
    "level_name",
    "note_text",
    "reach_name",
    "t",
    "yardstick_text",
]

LANGS = {"zh": "中文", "en": "English"}

_TEXT: dict[str, tuple[str, str]] = {
    # the vocabulary's words (codes in geo.vocab): categories and levels
    "category_service_centre": ("党群服务中心", "party-mass service centre"),
    "category_neighbourhood_centre": ("邻里中心", "neighbourhood centre"),
    "category_liaison_point": ("党群联络点", "liaison point"),
    "category_study_room": ("城市书房", "city study room"),
    "level_city": ("市", "city"),
    "level_district": ("区", "district"),
    "level_subdistrict": ("街道", "sub-district"),
    "level_community": ("社区", "community"),
    # the faces' own words: the review pack's static maps (map_*) and its documents (pack_*, status_*)
    "map_unit_boundary": ("单元边界", "unit boundary"),
    "map_gap_zone": ("服务盲区", "coverage gap"),
    "map_north": ("北", "N"),
    "map_scale_m": ("{n:g} 米", "{n:g} m"),
    "map_scale_km": ("{n:g} 千米", "{n:g} km"),
    "map_source": ("底图：OpenStreetMap 路网（ODbL）", "Base: OpenStreetMap streets (ODbL)"),
    "pack_report": ("一刻钟党建服务圈覆盖评估", "15-minute party-service circle: coverage review"),
    "pack_summary": ("全市汇总：各单元排名", "City summary: units ranked"),
    "pack_headline": ("主要指标", "Key figures"),
    "pack_map": ("地图", "Map"),
    "pack_coverage": ("分单元覆盖", "Coverage by unit"),
    "pack_sites": ("新增布点建议（最大覆盖模型 MCLP）", "Suggested new sites (maximal coverage, MCLP)"),
    "pack_provenance": ("参数与数据来源", "Parameters and provenance"),
    "pack_ranking": ("单元排名（按未覆盖居民）", "Units ranked by residents left out"),
    "pack_code": ("代码", "code"),
    "pack_pct_covered": ("覆盖率 %", "coverage rate %"),
    "pack_n_facilities": ("设施数", "facilities"),
    "pack_threshold": ("时间阈值", "threshold"),
    "pack_gap_id": ("盲区编号", "gap"),
    "pack_pop_uncovered_zone": ("整个盲区未覆盖居民", "left out in the whole zone"),
    "pack_rank_city": ("全市排名", "city rank"),
    "pack_site_id": ("布点编号", "site"),
    "pack_pct_after": ("新增后覆盖率 %", "coverage with new sites %"),
    "pack_catchment_pop": ("服务人口", "catchment residents"),
    "pack_sites_new": ("建议布点数", "new sites"),
    "pack_k": ("每单元新增布点上限 k", "new sites per unit, at most k"),
    "pack_no_gaps": ("本单元没有服务盲区。", "No coverage gaps in this unit."),
    "pack_no_sites": (
        "本单元无需新增布点（无未覆盖居民或无候选点）。",
        "No new site needed (nobody left out, or no candidate).",
    ),
    "pack_software": ("软件", "software"),
    "pack_created": ("生成时间", "created"),
    "pack_input": ("输入文件", "input file"),
    "pack_parameter": ("参数", "parameter"),
    "pack_method": (
        "选址方法：每个单元内按 100 米栅格取路网节点为候选点，对本单元未覆盖居民求解精确最大覆盖（MCLP）。",
        "Siting: candidates are network nodes on a 100 m grid inside the unit; exact maximal coverage (MCLP) "
        "of the unit's residents left out.",
    ),
    "pdf_more_rows": (
        "……另有 {n:,} 行未印出；完整表格见同一文件夹的 {file}。",
        "… {n:,} more rows not printed; the whole table is in {file} in the same folder.",
    ),
    "pack_gap_note": (
        "跨单元的盲区按居民所在单元拆分，各单元只计本单元居民。",
        "Gap zones crossing a border are split: each unit counts its own residents only.",
    ),
    "status_full": ("全覆盖", "full"),
    "status_partly": ("部分覆盖", "partly"),
    "status_none": ("未覆盖", "none"),
    "status_empty": ("无居民", "no residents"),
    "title": ("一刻钟党建服务圈", "15-minute party-service circle"),
    # the styled layers and the QGIS project of a review pack (qgis_*)
    "qgis_residents": ("居民点", "resident points"),
    "qgis_coverage": ("{level}覆盖率", "coverage by {level}"),
    "qgis_left_out": ("未覆盖 {lo:,.0f}–{hi:,.0f} 人", "{lo:,.0f}–{hi:,.0f} left out"),
    "qgis_site_reach": ("新增布点 {minutes:g} 分钟等时圈", "{minutes:g}-minute reach of the new sites"),
    "qgis_site_reach_walk": (
        "新增布点 {minutes:g} 分钟圈（步行 {metres:,.0f} 米）",
        "{minutes:g}-minute circle of the new sites ({metres:,.0f} m walk)",
    ),
    "qgis_site_reach_any": ("新增布点等时圈", "reach of the new sites"),
    "qgis_reach_any": ("等时圈", "reach"),
    "qgis_basemap": ("OpenStreetMap 底图（需联网）", "OpenStreetMap basemap (needs internet)"),
    "qgis_layout": ("评估地图", "review map"),
    "shp_readme": (
        "{layer}：Shapefile 字段名最长 {n} 字节，较长的列名已缩短。左为字段名，右为原列名（GeoPackage 中不变）。",
        "{layer}: a Shapefile keeps {n} bytes of a field name, so longer column names are shortened. "
        "Left the field, right the column's full name (as in the GeoPackage).",
    ),
    # travel modes (codes in geo.vocab.MODES) as the end of "within 15 min ...": the CLI's summary line
    "by_walk": ("步行", "walk"),
    "by_bike": ("骑自行车", "by bike"),
    "by_ebike": ("骑电动车", "by e-bike"),
    "subtitle": ("步行可达覆盖分析", "walking coverage of party-mass service points"),
    "covered_headline": ("{minutes:g} 分钟步行覆盖居民", "residents within a {minutes:g}-minute walk"),
    "coverage_rate": ("覆盖率", "coverage rate"),
    "uncovered": ("未覆盖居民", "residents left out"),
    "facilities": ("服务设施", "facilities"),
    "reach": ("{minutes:g} 分钟等时圈", "{minutes:g}-minute reach"),
    "reach_walk": ("{minutes:g} 分钟圈（步行 {metres:,.0f} 米）", "{minutes:g}-minute circle ({metres:,.0f} m walk)"),
    "reach_each": ("各设施等时圈", "reach of each facility"),
    "catchments": ("就近服务范围（按最先到达的设施划分）", "catchments (each place to the facility reaching it first)"),
    "streets": ("步行路网", "walking streets"),
    "residents_uncovered": ("未覆盖居民点", "uncovered residents"),
    "residents_covered": ("已覆盖居民点", "covered residents"),
    "gaps": ("服务盲区（{cell:g} 米栅格）", "coverage gaps ({cell:g} m grid)"),
    "sites": ("新增布点建议", "suggested new site"),
    "residents": ("居民", "residents"),
    "minutes": ("分钟", "minutes"),
    "rank": ("排名", "rank"),
    "name": ("名称", "name"),
    "category": ("类别", "category"),
    "new_covered": ("新增覆盖居民", "residents newly covered"),
    "walk_minutes": ("步行分钟", "walking minutes"),
    # truth: each new site's residents once every site is open (analysis.siting._served)
    "site_served": ("服务居民（开放后以其为最近）", "residents served (nearest once open)"),
    "site_walk": ("服务居民平均步行分钟", "their mean walk (minutes)"),
    "site_saved_each": ("人均节省步行分钟", "minutes saved each"),
    "site_saved_total": ("共节省步行（人·分钟）", "walk saved (resident-minutes)"),
    "site_line": (
        "{site}：服务居民 {served:,.0f} 人（新增覆盖 {new:,.0f} 人），平均步行 {walk} 分钟，"
        "人均节省 {each} 分钟（共 {total:,.0f} 人·分钟）",
        "{site}: serves {served:,.0f} residents ({new:,.0f} newly covered), mean walk {walk} min, "
        "saves {each} min each ({total:,.0f} resident-minutes)",
    ),
    # end truth
    "nearest": ("最近设施", "nearest facility"),
    "legend": ("图例", "legend"),
    "settings": ("参数", "settings"),
    "language": ("语言 / Language", "语言 / Language"),
    "threshold": ("时间阈值（分钟）", "threshold (minutes)"),
    "speed": ("速度（千米/小时）", "speed (km/h)"),
    "categories_used": ("计入的设施类别", "facility categories counted"),
    "basemap": ("底图（在线底图需联网）", "basemap (online ones need internet)"),
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
    "n_cells": ("栅格数（100 米）", "cells (100 m)"),
    "by_level": (
        "分级覆盖（市 → 区 → 街道 → 社区 → 网格）",
        "coverage by level (city → district → sub-district → community → grid)",
    ),
    "level": ("层级", "level"),
    "covered_residents": ("已覆盖居民", "residents covered"),
    "status": ("覆盖状态", "status"),
    "communities_full": ("全覆盖社区", "communities fully covered"),
    "communities_partly": ("部分覆盖社区", "communities partly covered"),
    "communities_none": ("未覆盖社区", "communities not covered"),
    "top_n": ("（前 {n:,} 处，共 {total:,} 处）", "(the first {n:,} of {total:,})"),
    "units_layer": ("{level}边界", "{level} boundaries"),
    "hex_layer": ("居民覆盖率（{size:g} 米六边形）", "coverage per hexagon ({size:g} m)"),
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
    # task-siting: the candidate grid, and what siting cannot reach
    "spacing_m": ("候选点间距（米）", "candidate spacing (m)"),
    "spacing_help": (
        "候选点取每个方格内离中心最近的路口；间距越小，候选越多、越细",
        "one street corner per grid cell is a candidate; a smaller spacing gives more, finer candidates",
    ),
    "sites_stop_helping": (
        "只有 {n} 个新中心能新增覆盖居民：再多布点也无济于事",
        "only {n} new centres add residents: more sites stop helping here",
    ),
    "unreached_grid": (
        "{pop:,.0f} 名未覆盖居民在某个路口的可达范围内，但不在任何候选点的范围内：请缩小候选点间距，或上传自己的候选点",
        "{pop:,.0f} residents left out are within reach of a street corner but of no candidate: "
        "use a finer candidate spacing, or upload your own candidates",
    ),
    "unreached_off_network": (
        "{pop:,.0f} 名未覆盖居民离路网太远（或离最近路口超出时间阈值）："
        "路网上的新中心无法覆盖他们，请检查居民点位置与路网范围",
        "{pop:,.0f} residents left out are off the street network or beyond the threshold from any street corner: "
        "no site on the network reaches them; check the residents' positions and the network's extent",
    ),
    "nothing_left": ("所有居民均已覆盖，无需新增", "every resident is covered: nothing left to cover"),
    "too_big": (
        "文件 {name} 有 {mb:,.0f} MB，超过每个文件 {limit} MB 的上限：请裁剪到所需范围后再上传",
        "{name} is {mb:,.0f} MB, over the {limit} MB limit per file: clip it to the area you need and upload again",
    ),
    "data": ("数据", "data"),
    "data_help": (
        "默认使用内置示例；上传自己的文件即替换对应部分。",
        "The bundled sample is used until you upload your own files; each upload replaces its part.",
    ),
    "network": ("路网", "street network"),
    "network_sample": ("示例路网", "sample"),
    "network_file": ("路网文件（.graphml / .osm / .osm.pbf）", "network file (.graphml / .osm / .osm.pbf)"),
    "network_osm": ("OSM 下载", "from OSM"),
    "network_upload": ("上传文件", "upload"),
    "network_file_label": ("上传路网文件", "upload a network file"),
    "osm_place": ("地名", "place name"),
    "osm_download": ("下载路网", "download the network"),
    "osm_progress": (
        "正在下载并整理 {place} 的步行路网……",
        "downloading and preparing the walking network of {place}…",
    ),
    "osm_box_help": (
        "也可以在地图右侧选“框选下载范围”，点击两个对角来框定范围（先打开在线底图找到位置）。",
        "Or pick “download box” beside the map and click two opposite corners "
        "(turn on an online basemap to find the place).",
    ),
    "osm_box": ("框选范围（西, 南, 东, 北）：{box}", "box (west, south, east, north): {box}"),
    "osm_download_box": ("下载框选范围的路网", "download the network in the box"),
    "the_box": ("框选范围", "the box"),
    "box_second": ("已记下第一个角：再点击对角。", "First corner noted: now click the opposite corner."),
    "box_too_big": (
        "框选范围约 {km2:,.0f} 平方千米，超过 {limit} 平方千米：请框一个更小的范围（如一个区）。",
        "The box is about {km2:,.0f} km², over {limit} km²: draw a smaller one (a district, say).",
    ),
    "box_set": (
        "已框定约 {km2:,.1f} 平方千米：在“数据”中点击“下载框选范围的路网”。",
        "Box of about {km2:,.1f} km² set: press “download the network in the box” under “data”.",
    ),
    "osm_done": ("路网已就绪（已缓存到磁盘）", "network ready (cached on disk)"),
    "facilities_file": (
        "服务设施（CSV / XLSX / GeoJSON / GPKG / 压缩 SHP）",
        "facilities (CSV / XLSX / GeoJSON / GPKG / zipped SHP)",
    ),
    "facilities_crs": ("设施坐标系", "facility coordinates"),
    "crs_wgs84": ("WGS-84（GPS、天地图、OSM）", "WGS-84 (GPS, Tianditu, OSM)"),
    "crs_gcj02": ("GCJ-02（高德、腾讯）", "GCJ-02 (AMap, Tencent)"),
    "crs_bd09": ("BD-09（百度）", "BD-09 (Baidu)"),
    # task-residents: coordinates judged against the streets (auto), residents from tables
    "crs_auto": ("自动（按路网判定）", "auto (judged against the streets)"),
    "demand_crs": ("居民坐标系", "resident coordinates"),
    "crs_judged": (
        "{file}：按路网判定坐标为 {system}：九成点位距街道 {best:,.0f} 米以内，按 {other} 读为 {second:,.0f} 米",
        "{file}: coordinates judged {system} against the streets: 90% within {best:,.0f} m of a street "
        "vs {second:,.0f} m as {other}",
    ),
    "crs_far": (
        "{file}：无论按哪种坐标系读，九成点位都距街道 {best:,.0f} 米以上：不是坐标系的问题，按 WGS-84 读取",
        "{file}: read in any coordinate system, 90% of its points lie beyond {best:,.0f} m of a street: not a "
        "question of the coordinate system; read as WGS-84",
    ),
    "crs_outside": (
        "{file}：各点均在中国境外，坐标按 WGS-84 读取",
        "{file}: every point lies outside China: read as WGS-84",
    ),
    "crs_given": ("{file}：坐标按所选的 {system} 读取", "{file}: coordinates read as {system}, as chosen"),
    "crs_declared": ("{file}：坐标按文件自带的坐标系读取", "{file}: coordinates read in the file's own CRS"),
    "crs_declared_looks": (
        "{file}：文件声明为 WGS-84，但按 {looks} 读时离街道更近"
        "（九成点位在 {best:,.0f} 米以内，按 WGS-84 为 {wgs:,.0f} 米）：如数据来自高德、腾讯或百度，请手动选择 {looks}",
        "{file}: the file says WGS-84, but its points lie closer to the streets read as {looks} (90% within "
        "{best:,.0f} m vs {wgs:,.0f} m as WGS-84): if it came from AMap, Tencent or Baidu, choose {looks} by hand",
    ),
    # end task-residents
    "demand_file": (
        "居民（CSV/XLSX 含经纬度与人口；点或面含 pop；建筑轮廓；或人口栅格 GeoTIFF，如 WorldPop）",
        "residents (CSV/XLSX with lon/lat and population; points or areas with pop; building footprints; or a "
        "population GeoTIFF, e.g. WorldPop)",
    ),
    "demand_total": ("按总人口缩放（0 = 不缩放）", "scale to this many residents (0 = as given)"),
    "candidates_file": ("候选点位（选址用，可选）", "candidate sites (for siting, optional)"),
    "own_network_needs_points": (
        "使用自己的路网时，请同时上传服务设施和居民：示例数据位于摩纳哥。",
        "With your own network, upload facilities and residents too: the sample's lie in Monaco.",
    ),
    "mode": ("出行方式", "travel mode"),
    "bands": ("同时绘制的等时圈（分钟）", "also draw these bands (minutes)"),
    "category_minutes": ("各类设施的时间阈值（分钟）", "threshold per facility category (minutes)"),
    "tianditu_key": ("天地图密钥（tk）", "Tianditu key (tk)"),
    "tianditu_needs_key": (
        "天地图需要密钥：在 console.tianditu.gov.cn 申请“浏览器端”密钥。",
        "Tianditu needs a key: get a browser key at console.tianditu.gov.cn.",
    ),
    "what_was_read": ("读取了什么", "what was read"),
    "no_facility_near": ("点击处 {m} 米内没有服务设施。", "No facility within {m} m of the click."),
    "now_click_target": (
        "已选中“{name}”：再点击地图上的新位置。",
        "Picked “{name}”: now click its new place on the map.",
    ),
    "new_centre_name": ("新中心 {n}", "new centre {n}"),
    "click_mode": ("点击地图", "a click on the map"),
    "new_category": ("新中心类别", "category of a new centre"),
    "click_help_browse": ("点击只查看，不改变方案。", "Clicks only look; the scenario stays as it is."),
    "click_help_add": ("点击地图即在该处新增一个中心。", "Click on the map to add a centre there."),
    "click_help_move": (
        "先点击要迁移的设施，再点击它的新位置。",
        "Click the facility to move, then click its new place.",
    ),
    "click_help_close": ("点击一个设施即将其关闭。", "Click a facility to close it."),
    "click_help_box": (
        "点击两个对角，框定从 OpenStreetMap 下载路网的范围。",
        "Click two opposite corners of the box to download from OpenStreetMap.",
    ),
    "add_lonlat": ("或按坐标新增（经度, 纬度，WGS-84）", "or add by coordinates (lon, lat, WGS-84)"),
    "add": ("新增", "add"),
    "bad_lonlat": ("“{text}” 不是“经度, 纬度”，例如 112.45, 34.62", "“{text}” is not “lon, lat”, e.g. 112.45, 34.62"),
    "undo": ("撤销上一步", "undo the last change"),
    "clear": ("清空方案", "clear the scenario"),
    "load_scenario": ("打开方案文件", "open a scenario file"),
    "scenario_loaded": ("已打开方案：{n} 项变化", "scenario opened: {n} changes"),
    "prepare_scenario": ("生成方案结果文件", "make the scenario's result file"),
    "download_scenario": ("下载方案结果（GeoPackage）", "download the scenario's result (GeoPackage)"),
    "save_scenario": ("保存方案（GeoJSON）", "save the scenario (GeoJSON)"),
    "compare": ("现状与方案对比", "current state and scenario side by side"),
    "now": ("现状", "now"),
    "with_scenario": ("方案", "scenario"),
    "gap_zones": ("服务盲区数", "gap zones"),
    "compare_line": (
        "新增覆盖 {gained:,.0f} 人，失去覆盖 {lost:,.0f} 人；消除盲区 {closed:,.0f} 处。",
        "{gained:,.0f} residents newly covered, {lost:,.0f} no longer covered; {closed:,.0f} gap zones closed.",
    ),
    "within": ("所属{level}", "within {level}"),
    "sites_to_scenario": ("把建议点位加入方案", "add these sites to the scenario"),
    "scenario_reset": ("数据已更换：方案已清空。", "The data changed: the scenario was cleared."),
    # the workspace (quarterhour/ui/workspace.py): scenarios saved as they are made, versions, review
    "ws_title": ("方案库", "saved scenarios"),
    "ws_current": (
        "当前方案：{name}（{unit}），第 {v} 版，{status}，{when} 自动保存",
        "open scenario: {name} ({unit}), version {v}, {status}, saved {when}",
    ),
    "ws_unsaved": ("方案的每一步变化都会自动保存到方案库。", "Every change of the scenario is saved as it is made."),
    "ws_default_name": ("方案 {when}", "scenario {when}"),
    "ws_resumed": ("已继续上次的方案：{name}（第 {v} 版）。", "Went on with your last scenario: {name} (version {v})."),
    "ws_opened": ("已打开方案：{name}（第 {v} 版）。", "Opened scenario {name} (version {v})."),
    "ws_pick": ("已保存的方案", "saved scenarios"),
    "ws_open": ("打开", "open"),
    "ws_versions": ("历史版本", "versions"),
    "ws_version_line": ("第 {v} 版 · {author} · {when} · {n} 项变化", "version {v} · {author} · {when} · {n} changes"),
    "ws_open_version": ("打开此版本", "open this version"),
    "ws_new": ("新建方案", "new scenario"),
    "ws_name": ("方案名称", "scenario name"),
    "ws_unit": ("所属单元", "unit"),
    "ws_city": ("全市", "whole city"),
    "ws_status_draft": ("草稿", "draft"),
    "ws_status_submitted": ("已提交审核", "submitted"),
    "ws_status_reviewed": ("已审核", "reviewed"),
    "ws_submit": ("提交审核", "submit for review"),
    "ws_review": ("审核通过", "mark reviewed"),
    "ws_return": ("退回修改", "return to draft"),
    "ws_comment": ("审核意见", "reviewer's comment"),
    "ws_review_line": (
        "{reviewer} 于 {when} 审核第 {v} 版：{comment}",
        "{reviewer} reviewed version {v} on {when}: {comment}",
    ),
    "ws_stale": (
        "方案已被他人更新，你的这次保存未执行，现显示第 {v} 版：{why}",
        "The scenario was updated elsewhere; your save was not made and version {v} is shown: {why}",
    ),
    "ws_unavailable": (
        "方案库不可用，方案只保存在本页面中：{why}",
        "The scenario store is unavailable; the scenario lives in this page only: {why}",
    ),
    "ws_pack": ("生成本方案的评审材料", "make this scenario's review pack"),
    "ws_pack_download": (
        "下载方案评审材料（第 {v} 版，{status}）",
        "download the scenario's review pack (version {v}, {status})",
    ),
    "ws_compare": ("与另一方案对比", "compare with another scenario"),
    "sign_in": ("登录", "sign in"),
    "sign_out": ("退出登录", "sign out"),
    "sign_in_sso": ("使用单位账号登录", "Sign in with your organisation"),
    "account_name": ("账号", "account"),
    "password": ("密码", "password"),
    "signed_in_as": ("已登录：{name}（{role}）", "signed in as {name} ({role})"),
    "session_ended": (
        "登录已过期或账号已停用，请重新登录。",
        "Your sign-in expired or the account was disabled: sign in again.",
    ),
    "role_planner": ("规划人员", "planner"),
    "role_reviewer": ("市级审核", "city reviewer"),
    "role_admin": ("管理员", "admin"),
    "role_local": ("本机用户", "local user"),
    "ws_compare_with": ("对比方案", "compare with"),
    "ws_figure": ("指标", "figure"),
    "ws_covered": ("覆盖居民", "residents covered"),
    "ws_gained": ("新增覆盖", "newly covered"),
    "ws_lost": ("失去覆盖", "no longer covered"),
    "ws_gaps_closed": ("消除盲区", "gap zones closed"),
    "network_read": (
        "{source}：{nodes:,} 个路口、{edges:,} 段道路（有向）；{frag:,} 个路口在与主路网不连通的碎片上",
        "{source}: {nodes:,} street corners, {edges:,} directed segments; {frag:,} corners on fragments cut off "
        "from the main network",
    ),
    "kept_previous": (
        "下面仍显示上一次成功读取的数据；改正文件后重新上传即可。",
        "Below: the last data that worked. Correct the file and upload it again.",
    ),
    "computing": ("计算中……", "computing…"),
    # issue 13 (task-cli): the steps of a long run, on the command line and in the app
    "step_reading": ("读取输入", "reading"),
    "step_preparing": ("准备路网", "preparing the network"),
    "step_travel_times": ("计算出行时间", "travel times"),
    "step_isochrones": ("绘制等时圈", "isochrones"),
    "step_coverage": ("统计覆盖", "coverage"),
    "step_siting": ("新增布点", "siting"),
    "step_writing": ("写出结果", "writing"),
    "step_of": ("第 {i}/{n} 步：{step}", "step {i}/{n}: {step}"),
    "timing": (
        "本次更新用时 {s:.2f} 秒（方案计算 {scenario:.2f} 秒）",
        "this update took {s:.2f} s (scenario {scenario:.2f} s)",
    ),
    "pack": ("评审材料", "review pack"),
    "pack_unit": ("单元", "unit"),
    "pack_help": (
        "图层（GeoPackage）、地图（PNG）、表格（XLSX）、报告（HTML 和 PDF），含参数与输入文件来源；"
        "为本单元计算 3 个建议新增点位。",
        "Layers (GeoPackage), a map (PNG), tables (XLSX), a report (HTML and PDF) with the parameters and inputs; "
        "3 suggested new sites for the unit.",
    ),
    "pack_make": ("生成评审材料", "make the review pack"),
    "pack_download": ("下载“{name}”评审材料（zip）", "download the review pack of “{name}” (zip)"),
    "tab_gaps": ("盲区与布点", "gaps and sites"),
    "tab_levels": ("分级覆盖", "by level"),
    "tab_siting": ("选址模型", "siting models"),
    "tab_downloads": ("下载", "downloads"),
    "one_layer": ("单个图层", "one layer"),
    "one_table": ("单个表格", "one table"),
    "layer": ("图层", "layer"),
    "table": ("表格", "table"),
    "format": ("格式", "format"),
    "download": ("下载", "download"),
    "provenance_note": (
        "每个文件都记录了参数、输入文件（含 SHA-256）、软件版本和日期；表格中以 = + - @ 开头的文字已作防公式处理。",
        "Every file records the parameters, the input files (with SHA-256), the software version and the date; "
        "text starting with = + - @ is made inert in tables.",
    ),
    "scenario": ("规划方案", "scenario"),
    "scenario_reach": ("方案中心等时圈", "reach of the scenario's centres"),
    "change": ("变化", "change"),
    "change_add": ("新增", "added"),
    "change_move": ("迁移", "moved"),
    "change_close": ("关闭", "closed"),
    "bug": ("程序出错，这是一个缺陷，请报告：", "Something went wrong. This is a bug; please report it:"),
    # task-truth (issue 14, items 1, 2, 6, 7): the analysis's notes (keys of geo.notes.NOTES_EN) and the words
    # that match the choices
    # siting notes (geo.notes: candidates_off … out_of_reach)
    "units_read": ("{file}：评估单元 {levels}", "{file}: review units {levels}"),
    "units_level_count": ("{level} {n} 个", "{n} {level}"),
    "units_bundled": ("内置：{name}", "bundled: {name}"),
    "none_on_network_title": ("没有服务设施在路网上", "No facility is on the street network"),
    "covered_headline_bike": ("{minutes:g} 分钟骑行覆盖居民", "residents within {minutes:g} minutes by bike"),
    "covered_headline_ebike": ("{minutes:g} 分钟电动车覆盖居民", "residents within {minutes:g} minutes by e-bike"),
    "subtitle_bike": ("骑行可达覆盖分析", "cycling coverage of party-mass service points"),
    "subtitle_ebike": ("电动车可达覆盖分析", "e-bike coverage of party-mass service points"),
    "minutes_bike": ("骑行分钟", "minutes by bike"),
    "minutes_ebike": ("电动车分钟", "minutes by e-bike"),
    "col_site_id": ("布点编号", "site"),
    "col_candidate_id": ("候选点编号", "candidate"),
    "col_order": ("顺序", "order"),
    "col_pop_covered": ("覆盖居民", "residents covered"),
    "col_pct_covered": ("覆盖率 %", "coverage %"),
    "col_code": ("代码", "code"),
    "col_lon": ("经度", "longitude"),
    "col_lat": ("纬度", "latitude"),
    "col_k": ("新增中心数 k", "new centres k"),
    # issue 13 (network store): prepared networks in the store, as a network source
    "network_store": ("已整理的路网", "a prepared network"),
    "store_pick": ("选择已整理的路网", "choose a prepared network"),
    "store_empty": (
        "存储中还没有整理好的路网。命令 quarterhour network 文件 可整理一个（存于服务器的缓存文件夹）。",
        "No prepared network in the store yet. The command quarterhour network FILE prepares one (kept in the "
        "server's cache folder).",
    ),
    # the app's choices, shown in both languages at once (``both``): Streamlit keys a choice by its label
    "mode_walk": ("步行", "walk"),
    "mode_bike": ("自行车", "bike"),
    "mode_ebike": ("电动车", "e-bike"),
    "model_name_mclp": ("最大覆盖", "MCLP"),
    "model_name_lscp": ("集合覆盖", "LSCP"),
    "model_name_pmedian": ("p 中值", "p-median"),
    "click_browse": ("浏览", "browse"),
    "click_add": ("新增", "add"),
    "click_move": ("迁移", "move"),
    "click_close": ("关闭", "close"),
    "click_box": ("框选下载范围", "download box"),
    "basemap_none": ("路网（离线）", "streets (offline)"),
    "basemap_osm": ("OpenStreetMap", "OpenStreetMap"),
    "basemap_tianditu": ("天地图", "Tianditu"),
    "all_units": ("全部", "all"),
    # issue 17: yardsticks (analysis.yardstick) and population groups (analysis.groups)
    "pack_yardstick": ("尺度", "yardstick"),
    "standard": ("尺度", "yardstick"),
    "standard_minutes": ("分钟（按步速）", "minutes at a speed"),
    "standard_gb50180": ("GB 50180 步行距离（1000 米）", "GB 50180 walking distance (1,000 m)"),
    "standard_gb50180-strict": ("GB 50180 严格（800 米）", "GB 50180 strict (800 m)"),
    "yardstick_minutes": (
        "按分钟：{minutes:g} 分钟，速度 {speed:g} km/h（约 {walk_m:,.0f} 米）",
        "minutes at a speed: {minutes:g} min at {speed:g} km/h (about {walk_m:,.0f} m)",
    ),
    "yardstick_gb50180": (
        "GB 50180-2018 路网步行距离：{circles} 分钟生活圈 = {metres} 米，本次 {minutes:g} 分钟 = {walk_m:,.0f} 米"
        "（按距离，与步速无关）",
        "GB 50180-2018 network walking distance: the {circles}-minute circles = {metres} m; here {minutes:g} min = "
        "{walk_m:,.0f} m (by distance: the speed does not matter)",
    ),
    "yardstick_gb50180-strict": (
        "GB 50180-2018 路网步行距离（严格）：{circles} 分钟生活圈 = {metres} 米，本次 {minutes:g} 分钟 = "
        "{walk_m:,.0f} 米（按距离，与步速无关）",
        "GB 50180-2018 network walking distance, strict: the {circles}-minute circles = {metres} m; here "
        "{minutes:g} min = {walk_m:,.0f} m (by distance: the speed does not matter)",
    ),
    "group_rate": (
        "{group}：{covered:,.0f} / {total:,.0f} 人（{pct:.1f}%）在 {minutes:g} 分钟内（{speed:g} km/h）",
        "residents {group}: {covered:,.0f} of {total:,.0f} ({pct:.1f}%) within {minutes:g} minutes at {speed:g} km/h",
    ),
    "group_rate_distance": (
        "{group}：{covered:,.0f} / {total:,.0f} 人（{pct:.1f}%）在 {walk_m:,.0f} 米内（按距离，与步速无关）",
        "residents {group}: {covered:,.0f} of {total:,.0f} ({pct:.1f}%) within {walk_m:,.0f} m "
        "(by distance: the speed does not matter)",
    ),
    "group_speeds": ("人群步速", "population groups' speeds"),
    "group_speeds_help": (
        "每个人群可设自己的步速（空：与上面相同），例如老年人 {older:g} km/h",
        "each group may walk at its own speed (empty: the one above), e.g. {older:g} km/h for older residents",
    ),
    "covered_headline_m": ("{walk_m:,.0f} 米步行覆盖居民", "residents within a {walk_m:,.0f} m walk"),
    "yardstick_speed_unused": (
        "GB 50180 按路网步行距离判断：速度不影响结果",
        "GB 50180 judges by network walking distance: the speed does not change the result",
    ),
    # quarterhour batch: the summary's tables (coverage_units, coverage_levels)
    "batch_status": ("运行状态", "run status"),
    "batch_done": ("完成", "done"),
    "batch_failed": ("失败", "failed"),
    "batch_not_run": ("未运行", "not run"),
    "batch_seconds": ("耗时秒数", "seconds"),
    "batch_error": ("错误", "error"),
    "batch_units_done": ("已完成单元数", "units done"),
    "batch_units": ("单元", "units"),
    "batch_levels": ("各层级汇总", "levels"),
    # --- issue 28: i28-accounts ---
    "audit_title": ("审计日志", "Audit log"),
    "audit_help": (
        "谁在何时对哪个方案、哪个版本做了什么（登录、登录被拒、新建、修改、提交、审核、导出、账号变更）",
        "who did what, when, to which scenario and version (sign-in, sign-in refused, create, change, submit, "
        "review, export, account changes)",
    ),
    "audit_filter_actor": ("账号", "account"),
    "audit_filter_action": ("操作", "action"),
    "audit_all": ("全部", "all"),
    "audit_at": ("时间", "time"),
    "audit_role": ("角色", "role"),
    "audit_scenario": ("方案", "scenario"),
    "audit_version": ("版本", "version"),
    "audit_detail": ("说明", "detail"),
    "audit_empty": ("审计日志中还没有记录。", "The audit log is empty."),
    # --- issue 26: i26-data ---
    "facilities_off": ("未纳入的设施（离路网）", "facilities left out (off the network)"),
    "param_face": ("运行方式", "run from"),
    "param_minutes": ("时间阈值（分钟）", "threshold (minutes)"),
    "param_categories": ("设施类别", "facility categories"),
    "param_demand_total": ("按总人口缩放", "scaled to residents"),
    "param_max_snap_m": ("离街道最远（米）", "farthest from a street (m)"),
    "param_isochrones": ("等时圈", "isochrones"),
    "param_decay": ("距离衰减", "distance decay"),
    "param_load_norm": ("负荷标准", "load norm"),
    "param_group": ("人群", "population groups"),
    "param_suggest": ("建议新增布点数", "new sites suggested"),
    "param_lang": ("语言", "language"),
    "param_time_limit": ("求解时限（秒）", "solver time limit (s)"),
    "param_place": ("下载地点", "place downloaded"),
    "param_bbox": ("下载范围", "box downloaded"),
    "param_clip": ("按边界裁剪路网", "network clipped to the boundaries"),
    "param_consolidate_m": ("路口合并（米）", "junctions merged within (m)"),
    "param_yes": ("是", "yes"),
    "param_no": ("否", "no"),
    "role_network": ("路网", "street network"),
    "role_facilities": ("服务设施", "facilities"),
    "role_demand": ("居民", "residents"),
    "role_boundaries": ("评估单元", "review units"),
    "role_categories": ("设施类别表", "categories table"),
    "role_candidates": ("候选点位", "candidate sites"),
    "role_exclude": ("排除区域", "areas excluded"),
    "role_buildings": ("建筑轮廓", "building footprints"),
    "crs_decided": (
        "；判定依据为距街道 {km:g} 千米以内的 {n:,} 个点位",
        "; judged on the {n:,} points within {km:g} km of the streets",
    ),
    "crs_beyond": (
        "；另有 {n:,} 个点位在路网范围之外（距任何街道超过 {km:g} 千米：在研究区以外，"
        "不作为判定坐标系的依据）：{names}",
        "; {n:,} points lie beyond the network's area (more than {km:g} km from every street: outside the study "
        "area, not evidence about the coordinate system): {names}",
    ),
    # --- issue 26: i26-app ---
    "store_entry_both": (
        "{name}（{nodes:,} 个节点 nodes，{mb:.1f} MB，经 lon {west:.3f}–{east:.3f}，纬 lat {south:.3f}–{north:.3f}）",
        "{name}（{nodes:,} 个节点 nodes，{mb:.1f} MB，经 lon {west:.3f}–{east:.3f}，纬 lat {south:.3f}–{north:.3f}）",
    ),
    "page_bug": (
        "程序出错了：这是本工具的缺陷，不是您的数据的问题。请把编号 {ref} 报告给维护者；刷新页面可继续工作。",
        "Something went wrong: this is a bug of the tool, not a problem with your data. "
        "Please report the number {ref} to the maintainers; reload the page to go on.",
    ),
    "network_auto_holds": (
        "路网：已选用已整理的路网「{name}」——上传的 {n:,} 个点中有 {inside:,} 个在它的范围内。可在“数据”中改选。",
        "Network: the prepared network '{name}' is used: {inside:,} of the {n:,} uploaded points lie within it. "
        "Choose another under 'data'.",
    ),
    "network_auto_newest": (
        "路网：上传的 {n:,} 个点不在任何已整理路网的范围内；已选用最近整理的路网「{name}」。可在“数据”中改选。",
        "Network: none of the prepared networks holds the {n:,} uploaded points; the most recently prepared one, "
        "'{name}', is used. Choose another under 'data'.",
    ),
    "choose_one": ("请选择", "choose"),
    "choose_some": ("请选择（可多选）", "choose one or more"),
    "solver_method_milp": ("整数规划（HiGHS）", "integer programming (HiGHS)"),
    "solver_method_greedy": ("贪心法", "greedy"),
    "solver_optimal": ("{method}：已证最优", "{method}: proven optimal"),
    "solver_gap": ("{method}：与最优相差至多 {gap:.1%}", "{method}: within {gap:.1%} of the optimum"),
    "solver_unproven": ("{method}：未证明最优", "{method}: not proven optimal"),
    "streets_credit": ("路网：{name}", "streets: {name}"),
    "reading_points": (
        "正在读取居民与设施，并把居民落到路网上……",
        "reading the residents and facilities, placing the residents on the streets…",
    ),
    "upload_button": ("上传", "Upload"),
    "upload_drop": ("把文件拖到这里", "Drag and drop a file here"),
    "upload_limit": ("每个文件不超过 {mb} MB", "up to {mb} MB per file"),
    # --- issue 28: i28-projects ---
    "ws_closed": (
        "工作区暂时无法打开（可能正被占用或无法读取），因此不显示任何数据。请稍后重新加载页面；如仍无法打开，请联系服务器管理员。",
        "The workspace cannot be opened just now (it may be locked or unreadable), so no data is shown. "
        "Reload the page in a moment; if it still cannot be opened, ask the server's operator.",
    ),
    "kept_file": ("已从项目恢复：{name}", "restored from the project: {name}"),
    "kept_drop": ("不用此文件", "don't use it"),
    "kept_store_missing": (
        "项目所用的预处理路网“{name}”已不在路网库中，未能恢复上次的页面",
        "the project's prepared network '{name}' is no longer in the network store; the last page was not restored",
    ),
    "kept_store_missing_fix": (
        "重新预处理该路网（quarterhour prepare），或在“数据”中选择其他路网",
        "prepare the network again (quarterhour prepare), or choose another network under Data",
    ),
    "kept_damaged": (
        "项目中保存的输入文件“{name}”已损坏或缺失，未能恢复上次的页面",
        "the project's kept input file '{name}' is damaged or missing; the last page was not restored",
    ),
    "kept_damaged_fix": ("请在“数据”中重新上传该文件", "upload the file again under Data"),
    "kept_not_kept": (
        "本项目的输入文件未能保存到工作区（文件超过 100 MB 或已不在服务器上）："
        "方案照常保存，但重新加载后需重新上传数据",
        "The project's input files could not be kept in the workspace (over 100 MB, or no longer on the server): "
        "scenarios are still saved, but after a reload the data must be uploaded again",
    ),
    "read_only_view": (
        "审核视图：只读。方案按保存的样子显示，不能在此修改或撤销。",
        "Review view: read-only. The scenario is shown as saved; it cannot be changed or undone here.",
    ),
    "ws_inputs_differ": (
        "注意：两个方案的计算依据不同（{roles}），对比结果以当前页面的数据和参数计算。",
        "Note: the two scenarios were computed on different inputs ({roles}); "
        "the comparison uses this page's data and parameters.",
    ),
    # --- issue 31: i31-hours ---
    "window_weekday-evening": ("工作日晚间（周一至周五 18:00-21:00）", "weekday evenings (Mo-Fr 18:00-21:00)"),
    "window_weekday-daytime": ("工作日白天（周一至周五 8:00-18:00）", "weekday daytime (Mo-Fr 08:00-18:00)"),
    "window_office-hours": ("办公时间（周一至周五 9:00-17:00）", "office hours (Mo-Fr 09:00-17:00)"),
    "window_weekend": ("周末白天（周六、周日 9:00-18:00）", "weekend daytime (Sa-Su 09:00-18:00)"),
    "window_weekend-evening": ("周末晚间（周六、周日 18:00-21:00）", "weekend evenings (Sa-Su 18:00-21:00)"),
    "window_night": ("夜间（每天 0:00-6:00）", "night (daily 00:00-06:00)"),
    "window_any_time": ("任意时间（有设施开放时）", "at any time (when some facility is open)"),
    "window_share_of_week": ("一周中被覆盖的时间占比", "share of the week covered"),
    "hours_closed_reach": ("此时关闭设施的服务范围（不计入）", "reach of the facilities closed then (not counted)"),
    "hours_closed_facilities": ("此时未开放的设施", "facilities not open then"),
    "hours_unknown_label": ("开放时间未知", "hours unknown"),
    "hours_label": ("开放时间", "opening hours"),
    "hours_any_time": ("不限时间（全部设施）", "any time (all facilities)"),
    "hours_time": ("开放时间：查看某一时刻", "Opening hours: coverage at a time"),
    "hours_time_help": (
        "只计当时开放的设施（按设施表的“开放时间”列）；无该列的设施视为全天开放",
        "only the facilities open then count (by the facilities' opening-hours column); without one, always open",
    ),
    "hours_headline": (
        "{at} 开放设施覆盖：{pct:.1f}%（{n} 个设施中 {n_open} 个开放）",
        "Covered by the facilities open at {at}: {pct:.1f}% ({n_open} of {n} facilities open)",
    ),
    # --- issue 27: i27-bounds ---
    "upload_quota": (
        "文件 {name} 未保存：本次会话已上传 {n} 个文件、共 {mb:,.1f} MB，每次会话最多 {files} 个文件、{limit} MB"
        "（上传的文件在服务器上保留 {hours:g} 小时）。请重新使用已上传的文件，或稍后开启新的会话",
        "{name} was not kept: this session has uploaded {n} files, {mb:,.1f} MB in all; a session may upload "
        "at most {files} files and {limit} MB (uploads are kept on the server for {hours:g} hours). Use the files "
        "already uploaded, or start a new session later",
    ),
    "drawing_map": ("正在绘制地图……", "drawing the map…"),
    "preparing_files": ("正在准备下载文件……", "preparing the files to download…"),
    "ws_version_line_both": (
        "第 {v} 版 version {v} · {author} · {when} · {n} 项变化 changes",
        "第 {v} 版 version {v} · {author} · {when} · {n} 项变化 changes",
    ),
    "pack_hours_title": ("各时段开放设施覆盖率（一周）", "Coverage by the facilities open, hour by hour (one week)"),
    "pack_hours_shaded": ("阴影：工作日晚间 18:00-21:00", "shaded: weekday evenings 18:00-21:00"),
    "pack_hours_time": ("时刻", "time"),
    "pack_hours_open": ("开放设施数", "facilities open"),
    "pack_hours_unknown": ("开放时间未知的设施数", "facilities of unknown hours"),
    "pack_hours_covered": ("覆盖居民", "residents covered"),
    "pack_hours_pct": ("覆盖率（%）", "covered (%)"),
    "pack_hours_maybe": ("若未知者开放可覆盖", "covered if those of unknown hours were open"),
    "pack_hours_window": ("时段", "window"),
    "pack_hours_sheet": ("逐时覆盖", "coverage by hour"),
    "pack_hours_windows": ("时段覆盖", "coverage by window"),
    "pack_hours_method": (
        "每个整点只计当时开放的设施（按各设施的开放时间；无法识别者按未知处理，不计为开放）；"
        "时段内覆盖指该时段每个整点都被覆盖；下表摘录每天 10:00 与 19:00，全部 168 个整点见 summary.xlsx",
        "At each hour only the facilities open then count (by each facility's opening hours; unreadable ones are "
        "unknown, not counted as open); covered in a window means covered at every hour of it; below, 10:00 and "
        "19:00 of each day; all 168 hours in summary.xlsx",
    ),
    # --- issue 30: i30-compounds ---
    "compounds_file": (
        "封闭小区边界（面，或 OSM 文件；可选）",
        "gated compounds (polygons, or an OSM file; optional)",
    ),
    "gates_file": (
        "小区出入口（点，或 OSM 文件；缺省时从 OSM 小区文件读取；无出入口的小区按开放计算）",
        "compound gates (points, or an OSM file; default: from an OSM compounds file; a compound with no gate is open)",
    ),
    # --- issue 30: i30-grid ---
    "level_grid": ("网格", "grid"),
    "units_sample_grid": ("示例：摩纳哥，含网格（虚构）", "sample: Monaco, with grids (made up)"),
    "grids_full": ("全覆盖网格", "grids fully covered"),
    "grids_partly": ("部分覆盖网格", "grids partly covered"),
    "grids_none": ("未覆盖网格", "grids not covered"),
    # --- issue 30: i30-roads ---
    "road_issue_dangle": ("断头路端点", "dead end"),
    "road_issue_joined": ("已连接的端点（容差内）", "end points joined (within the tolerance)"),
    "road_issue_crossing_noded": ("交叉处已打断（路口）", "crossing noded (a junction)"),
    "road_issue_crossing_not_noded": ("交叉不打断（桥梁/隧道/分层）", "crossing not noded (bridge, tunnel or level)"),
    "road_issue_zero_length": ("零长度路段（已删除）", "zero-length segment (dropped)"),
    "road_issue_duplicate": ("重复路段（已删除）", "duplicate segment (dropped)"),
    "road_issue_fragment": ("孤立碎片路段", "segment of a fragment cut off"),
    "network_file_roads": (
        "路网文件（.graphml / .osm / .osm.pbf，或道路中心线图层 .zip / .gpkg / .geojson）",
        "network file (.graphml / .osm / .osm.pbf, or road centre lines .zip / .gpkg / .geojson)",
    ),
    "road_crs": ("道路图层坐标系", "road layer's coordinate system"),
    "road_crs_file": ("按文件所述", "as the file says"),
    "road_crs_gcj02": ("GCJ-02（高德、腾讯）", "GCJ-02 (AMap, Tencent)"),
    "road_crs_bd09": ("BD-09（百度）", "BD-09 (Baidu)"),
    "road_crs_epsg": ("EPSG 代码（文件未说明时）", "an EPSG code (the file does not say)"),
    "road_crs_epsg_code": ("EPSG 代码，如 EPSG:4547", "EPSG code, e.g. EPSG:4547"),
    # --- lead: the gated compounds' coordinate system ---
    "compounds_crs": ("小区和出入口的坐标系", "coordinate system of the compounds and gates"),
    "crs_auto_file": (
        "按文件所述（离街道更近的坐标系会在说明中提示）",
        "as the file says (the notes say when another system fits the streets better)",
    ),
    # --- issue 29: click-speed ---
    "map_redrawn": (
        "地图已按新的数据或参数重画；如在重画完成前点击了旧地图，那次点击未计入，请在这张地图上再点一次。",
        "The map was redrawn for new data or settings; if you clicked the previous map before it was redrawn, "
        "that click was not taken: please click again on this map.",
    ),
    # --- lead: the sample's review units on the planner's own streets ---
    "own_network_needs_units": (
        "评估单元仍是示例（摩纳哥，虚构）：与你的路网不在一处，分级覆盖和选址都没有意义。"
        "请在“评估单元”中上传本市的边界（洛阳可选内置的洛阳边界）。",
        "The review units are still the sample's (Monaco, made up): they do not lie on your network, so the "
        "coverage by level and the siting mean nothing. Upload your city's boundaries under review units (for "
        "Luoyang, choose the bundled Luoyang units).",
    ),
    # --- issue 29: lost-input ---
    "map_redrawn_kept": (
        "地图已按新的数据或参数重画；重画完成前在旧地图上的点击，会在这张地图的同一位置计入。",
        "The map was redrawn for new data or settings; a click made on the previous map before the redraw "
        "is taken at the same place on this one.",
    ),
    "map_click_kept": (
        "你在旧地图上（重画完成前）的点击已在这张地图的同一位置计入，见右侧的变化。",
        "Your click on the previous map (before the redraw) was taken at the same place on this one: see the "
        "changes on the right.",
    ),
    # --- issue 29: city-upload ---
    "stage_reading": ("读取居民文件", "reading the residents' file"),
    "stage_snapping": ("把居民放到街道上", "placing the residents on the streets"),
    "stage_analysis": ("分析覆盖", "analysing the coverage"),
    "stage_map": ("绘制地图，保存到工作区", "drawing the map, saving to the workspace"),
    "stage_line": ("{s:.1f} 秒：{stage}", "{s:.1f} s: {stage}"),
}


def t(key: str, lang: str = "zh", **values: object) -> str:
    """The label ``key`` in ``lang`` ("zh" or "en"), formatted with ``values``.

    Parameters
    ----------
    key
        The label's key.
    lang
        ``"zh"`` or ``"en"``.
    **values
        The label's placeholders (``str.format``), e.g. ``minutes=15``.

    Examples
    --------
    >>> t("reach", "en", minutes=15)
    '15-minute reach'
    >>> t("reach", minutes=15)
    '15 分钟等时圈'
    """
    if key not in _TEXT and key.startswith(("err_", "note_")):  # moved to the catalogue (geo/locale, issue 25)
        return _catalogued(key, lang, values)
    zh, en = _TEXT[key]
    return (en if lang == "en" else zh).format(**values)


def _catalogued(key: str, lang: str, values: dict) -> str:
    """An error (``err_<key>``) or a note (``note_<key>``) of the catalogue, said in ``lang``."""
    from geo.errors import InputError  # imported here: the words load without geopandas
    from geo.notes import Note, note_in

    name = key.split("_", 1)[1]
    if key.startswith("note_"):
        return note_in(Note(name, tuple(values.items())), lang)
    exc = InputError.__new__(InputError)  # not __init__: a placeholder may be called row or file (too_long_row)
    exc.key, exc.values, exc.file, exc.row, exc.column = name, values, None, None, None
    exc.problem = exc.fix = exc._fix_given = None
    return exc.in_lang(lang)


def _joined(zh: str, en: str) -> str:
    if zh == en:
        return zh
    return f"{zh}{'' if zh.endswith('）') else ' '}{en}"  # a full-width bracket brings its own space


def both(key: str) -> str:
    """The label in Chinese and English together, for choices that must not change with the language.

    Streamlit keys a choice by its label: a label that changed with the language would lose the planner's choice.

    Examples
    --------
    >>> both("units_luoyang")
    '洛阳市及 7 个区 Luoyang and its 7 districts'
    >>> both("mode_walk"), both("basemap_none"), both("basemap_osm")
    ('步行 walk', '路网（离线）streets (offline)', 'OpenStreetMap')
    """
    return _joined(t(key, "zh"), t(key, "en"))


def category_both(code: str) -> str:
    """A facility category's name in both languages, as one label.

    Examples
    --------
    >>> category_both("study_room")
    '城市书房 city study room'
    """
    return _joined(category_name(code, "zh"), category_name(code, "en"))


def level_both(code: str) -> str:
    """An administrative level's name in both languages, as one label.

    Examples
    --------
    >>> level_both("subdistrict")
    '街道 sub-district'
    """
    return _joined(level_name(code, "zh"), level_name(code, "en"))


def category_name(code: str, lang: str = "zh") -> str:
    """A facility category's name in ``lang``; an unknown code is shown as it is.

    Parameters
    ----------
    code, lang
        The category's code (``geo.vocab``), and ``"zh"`` or ``"en"``.

    Examples
    --------
    >>> category_name("study_room"), category_name("study_room", "en"), category_name("kiosk")
    ('城市书房', 'city study room', 'kiosk')
    """
    key = f"category_{code}"
    return t(key, lang) if key in _TEXT else code


def level_name(code: str, lang: str = "zh") -> str:
    """An administrative level's name in ``lang`` (``subdistrict`` -> 街道 / sub-district).

    Parameters
    ----------
    code, lang
        The level's code (``geo.vocab.LEVELS``), and ``"zh"`` or ``"en"``.

    Examples
    --------
    >>> level_name("subdistrict"), level_name("subdistrict", "en")
    ('街道', 'sub-district')
    """
    key = f"level_{code}"
    return t(key, lang) if key in _TEXT else code


def note_text(n: object, lang: str = "zh") -> str:
    """A note of the analysis (``geo.notes.Note``) in ``lang``; a plain string is shown as it is.

    Lists of names are joined with 、 in Chinese and ", " in English; a note inside a note is said in ``lang`` too.

    Examples
    --------
    >>> from geo.notes import note
    >>> note_text(note("facilities_read", file="党群服务中心.csv", n=2))
    '党群服务中心.csv：2 个服务设施'
    >>> note_text(note("facilities_read", file="centres.csv", n=2), "en")
    'centres.csv: 2 facilities'
    """
    from geo.notes import Note, fill, note_in  # imported here: the words load without geopandas

    if not isinstance(n, Note):
        return str(n)
    if n.key in ("outside_level", "units_matched", "units_unmatched"):  # the level's own word, not its code
        n = Note(n.key, tuple((k, level_name(v, lang) if k == "level" else v) for k, v in n.values))
    if n.key == "category_speed":  # the category's own name, not its code
        n = Note(n.key, tuple((k, category_name(v, lang) if k == "category" else v) for k, v in n.values))
    if f"note_{n.key}" in _TEXT:  # a note still in this table (tools/i18n_migrate.py moves it to the catalogue)
        template = _TEXT[f"note_{n.key}"][1 if lang == "en" else 0]
        return fill(template, n, lambda inner: note_text(inner, lang), ", " if lang == "en" else "、")
    return note_in(n, lang, lambda inner: note_text(inner, lang))


def yardstick_text(ys: object, minutes: float, lang: str = "zh") -> str:
    """Which yardstick a run used, and its numbers, in ``lang``.

    Parameters
    ----------
    ys
        The run's ``analysis.yardstick.Yardstick`` (``CircleSummary.yardstick``).
    minutes
        The circle's threshold in minutes.
    lang
        ``"zh"`` or ``"en"``.

    Examples
    --------
    >>> from analysis.yardstick import yardstick
    >>> yardstick_text(yardstick("gb50180"), 15, "en")[:64]
    'GB 50180-2018 network walking distance: the 5/10/15-minute circl'
    >>> yardstick_text(yardstick("minutes", speed_kmh=4.5), 15)
    '按分钟：15 分钟，速度 4.5 km/h（约 1,125 米）'
    """
    values = {"minutes": minutes, "walk_m": ys.walk_m(minutes), "speed": ys.speed_kmh}
    if ys.metres:
        values["circles"] = "/".join(f"{m:g}" for m, _ in ys.metres)
        values["metres"] = "/".join(f"{d:,.0f}" for _, d in ys.metres)
    return t(f"yardstick_{ys.name}", lang, **values)


def reach_name(minutes: float, lang: str = "zh", ys: object = None, *, key: str = "reach") -> str:
    """A reach band's name on maps and legends, by its yardstick: minutes, or a circle of metres of walk.

    Parameters
    ----------
    minutes
        The band (life circle) in minutes.
    lang
        ``"zh"`` or ``"en"``.
    ys
        The run's ``analysis.yardstick.Yardstick``; None (or the minutes yardstick) names the minutes alone.
    key
        The label: ``reach`` (a band) or ``qgis_site_reach`` (the new sites'); ``<key>_walk`` names the metres.

    Examples
    --------
    >>> from analysis.yardstick import yardstick
    >>> reach_name(15, "en", yardstick("gb50180"))
    '15-minute circle (1,000 m walk)'
    >>> reach_name(15, "zh", yardstick("gb50180-strict"))
    '15 分钟圈（步行 800 米）'
    >>> reach_name(15, "en", yardstick("minutes"))
    '15-minute reach'
    """
    metres = dict(getattr(ys, "metres", ()) or ()).get(float(minutes))
    if metres is None:  # minutes at a speed (or a band the distance yardstick does not define)
        return t(key, lang, minutes=minutes)
    return t(f"{key}_walk", lang, minutes=minutes, metres=metres)


def group_text(rate: object, summary: object, lang: str = "zh") -> str:
    """A population group's coverage, with the speed it was judged at (or that the distance alone counts).

    Parameters
    ----------
    rate
        An ``analysis.groups.GroupRate``.
    summary
        The run's ``CircleSummary`` (its circle and distance).
    lang
        ``"zh"`` or ``"en"``.
    """
    values = {"group": rate.group, "covered": rate.pop_covered, "total": rate.pop, "pct": rate.pct_covered}
    if rate.speed_kmh is None:
        return t("group_rate_distance", lang, walk_m=summary.walk_m, **values)
    return t("group_rate", lang, minutes=summary.minutes, speed=rate.speed_kmh, **values)


def error_words(exc: BaseException, lang: str) -> str:
    """An error in the planner's language: the catalogue's words (``geo/locale``) where it has them, else its text.

    Examples
    --------
    >>> error_words(ValueError("no key: said as it is"), "zh")
    'no key: said as it is'
    """
    from geo.errors import InputError  # imported here: the words load without geopandas

    key = getattr(exc, "key", None)
    if key and f"err_{key}" in _TEXT:  # a key still in this table (tools/i18n_migrate.py moves it)
        with contextlib.suppress(KeyError, IndexError, ValueError):
            return t(f"err_{key}", lang, **getattr(exc, "values", {}))
    if isinstance(exc, InputError):
        return exc.in_lang(lang)
    return str(exc)
