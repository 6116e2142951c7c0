"""Patrol coverage kept per log: which samples of a street's road edges and segments one log passed, and
which of its buildings, measured once and unioned later.

A share walked is a union (two logs along one road count it once), so what a log keeps is not metres but
the samples it passed, as runs of sample indices per line: the runs of many logs union to exactly what
matching them all at once (``geo.tracks.walked``) gives. What the samples are depends on the street's
roads, segments and buildings and on the distances asked; ``basis_key`` names that, so kept runs are used
only against the very lines they were measured on. Pure: frames and arrays in, arrays out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from geo.network import RoadNetwork, build_network
from geo.sampling import LineSamples, near, sample_lines, vertices
from geo.tracks import JUNCTION_SCATTER_M, SAMPLE_M, Track, pieces_of

KEY_VERSION = "1"  # bump when what a kept run means changes: old runs then go unused


@dataclass
class Measured:
    """Lines sampled every ``SAMPLE_M``, each sample weighted 0 near a junction (crossing is not walking)."""

    lines: np.ndarray
    samples: LineSamples
    weight: np.ndarray
    first: np.ndarray  # index of each line's first sample

    def share(self, hit: np.ndarray) -> np.ndarray:
        """Share of each line's weighted length that the hit samples make."""
        return self.samples.per_line(hit * self.weight) / self.samples.per_line(self.weight)

    def runs(self, hit: np.ndarray) -> dict[int, list[tuple[int, int]]]:
        """Line → runs [lo, hi) of its own sample indices that were hit (lines with none left out)."""
        idx = np.flatnonzero(hit)
        if not len(idx):
            return {}
        cut = np.flatnonzero((np.diff(idx) != 1) | (np.diff(self.samples.owner[idx]) != 0)) + 1
        out: dict[int, list[tuple[int, int]]] = {}
        for run in np.split(idx, cut):
            line = int(self.samples.owner[run[0]])
            lo = int(run[0] - self.first[line])
            out.setdefault(line, []).append((lo, lo + len(run)))
        return out

    def mask(self, runs: Mapping[int, Sequence[tuple[int, int]]]) -> np.ndarray:
        """The samples that kept runs cover (the inverse of ``runs``)."""
        out = np.zeros(len(self.samples.xy), dtype=bool)
        for line, pairs in runs.items():
            for lo, hi in pairs:
                out[self.first[line] + lo : self.first[line] + hi] = True
        return out


def measured(lines: np.ndarray, junctions: np.ndarray, within_m: float) -> Measured:
    """Sample metric lines and weight them as ``geo.tracks.walked`` does."""
    samples = sample_lines(lines, SAMPLE_M)
    weight = np.ones(len(samples.xy))
    if len(junctions):
        weight[near(np.asarray(junctions, dtype=float), samples.xy, within_m + JUNCTION_SCATTER_M)] = 0.0
        weight[samples.per_line(weight)[samples.owner] == 0] = (
            1.0  # a line that is all junction counts itself
        )
    counts = np.bincount(samples.owner, minlength=samples.n_lines)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return Measured(np.asarray(lines, dtype=object), samples, weight, first)


@dataclass
class Basis:
    """A street's lines and buildings in its metric CRS, as coverage is measured against them."""

    key: str
    network: RoadNetwork
    edges: list[Any]  # (u, v, key, data) of every edge
    lengths: np.ndarray
    junctions: np.ndarray
    on_edges: Measured
    segment_ids: list[str]
    on_segments: Measured
    building_ids: list[str]
    buildings: np.ndarray
    within_m: float
    passed_m: float

    @property
    def epsg(self) -> int:
        return self.network.epsg


def basis_key(
    roads: gpd.GeoDataFrame,
    segments: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    within_m: float,
    passed_m: float,
) -> str:
    """A digest of everything a kept run depends on: the lines in their order, the buildings, the distances."""
    h = hashlib.sha1(f"{KEY_VERSION}|{SAMPLE_M}|{JUNCTION_SCATTER_M}|{within_m!r}|{passed_m!r}".encode())
    for frame in (roads, segments, buildings):
        h.update(f"|{frame.crs}|{len(frame)}".encode())
        if "id" in frame.columns:
            h.update("\x1f".join(map(str, frame["id"])).encode())
        for wkb in shapely.to_wkb(frame.geometry.to_numpy()):
            h.update(wkb)
    return h.hexdigest()


def basis(
    roads: gpd.GeoDataFrame,
    segments: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    within_m: float,
    passed_m: float,
) -> Basis:
    """The street's network, its edges and segments sampled and its buildings, all metric."""
    network = build_network(roads)
    graph = network.graph
    edges = list(graph.edges(keys=True, data=True))
    junctions = np.array([graph.nodes[n]["xy"] for n in graph.nodes if graph.degree(n) >= 3]).reshape(-1, 2)
    lines = np.array([d["geometry"] for *_, d in edges], dtype=object)
    return Basis(
        key=basis_key(roads, segments, buildings, within_m, passed_m),
        network=network,
        edges=edges,
        lengths=np.array([d["length_m"] for *_, d in edges]),
        junctions=junctions,
        on_edges=measured(lines, junctions, within_m),
        segment_ids=[str(s) for s in segments["id"]],
        on_segments=measured(segments.to_crs(network.epsg).geometry.to_numpy(), junctions, within_m),
        building_ids=[str(b) for b in buildings["id"]],
        buildings=buildings.to_crs(network.epsg).geometry.to_numpy(),
        within_m=within_m,
        passed_m=passed_m,
    )


def metric_tracks(tracks: Sequence[Track], epsg: int) -> np.ndarray:
    """Every track as one metric MultiLineString."""
    if not tracks:
        return np.array([], dtype=object)
    pieces = [p for t in tracks for p in t.pieces]
    owner = np.repeat(np.arange(len(tracks)), [len(t.pieces) for t in tracks])
    xy = np.concatenate([p[:, 1:3] for p in pieces])
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(xy[:, 0], xy[:, 1])
    lines = shapely.linestrings(
        np.column_stack([x, y]), indices=np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])
    )
    return shapely.multilinestrings(lines, indices=owner)


def hits(on: Measured, metric: np.ndarray, owners: Sequence[Any], within_m: float) -> dict[Any, np.ndarray]:
    """Owner → the weighted samples their tracks passed within ``within_m`` (searched per owner, as
    ``geo.tracks.walked`` searches)."""
    if len(metric) == 0:
        return {}
    xy, which = vertices(metric, SAMPLE_M)
    names = list(dict.fromkeys(owners))
    at = {n: i for i, n in enumerate(names)}
    code = np.array([at[o] for o in owners])[which]
    order = np.argsort(code, kind="stable")
    groups = np.split(xy[order], np.searchsorted(code[order], np.arange(1, len(names))))
    return {
        who: near(mine, on.samples.xy, within_m) & (on.weight > 0)
        for who, mine in zip(names, groups, strict=True)
        if len(mine)
    }


def passed_by(b: Basis, metric: np.ndarray, owners: Sequence[Any]) -> dict[Any, set[int]]:
    """Owner → indices of the buildings their tracks came within ``passed_m`` of."""
    stretches, track_of = pieces_of(metric)
    out: dict[Any, set[int]] = {}
    if len(stretches) and len(b.buildings):
        building, stretch = shapely.STRtree(stretches).query(
            b.buildings, predicate="dwithin", distance=b.passed_m
        )
        for i, s in zip(building.tolist(), stretch.tolist(), strict=True):
            out.setdefault(owners[track_of[s]], set()).add(i)
    return out
