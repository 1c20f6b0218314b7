"""Which segments the indexer merges, and when: a tiered policy under a size cap, then settling.

See :mod:`pgs3v.store.engine.indexer` for how the threads apply it; :meth:`VectorIndex.optimize` applies
:func:`optimize_plan`, the same settled layout the merger reaches once writes pause.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pgs3v.store.engine.index_settings import IndexSettings
from pgs3v.store.engine.segment import wants_ann
from pgs3v.store.engine.segment_set import LiveSegment

# Under a trickle of writes, a large segment is rewritten once the smaller ones in its pack add
# up to this share of it: a write amplification of about 1 / share.
_PARTIAL_SHARE = 0.25


def merge_choice(segments: Sequence[LiveSegment], settings: IndexSettings, *, settle: bool) -> list[str]:
    """The names of segments to merge now, or [] (see the module docstring)."""
    for live in segments:
        if live.deleted_count and live.deleted_count > settings.max_deleted_share * live.segment.rows:
            return [live.segment.name]
    tiers: dict[int, list[LiveSegment]] = {}
    base = max(settings.fold_rows, 1)
    for live in segments:
        size = max(live.live_count, 1)
        tier = 0 if size <= base else int(math.log(size / base, settings.merge_width)) + 1
        tiers.setdefault(tier, []).append(live)
    for tier in sorted(tiers):
        group = sorted(tiers[tier], key=lambda live: live.live_count)[: settings.merge_width]
        if len(group) >= settings.merge_width and sum(live.live_count for live in group) <= settings.max_segment_rows:
            return [live.segment.name for live in group]
    if settle:
        return settle_choice(segments, settings)
    return []


def settle_choice(segments: Sequence[LiveSegment], settings: IndexSettings, *, partial: bool = False) -> list[str]:
    """The first pack of segments worth merging into one of at most ``max_segment_rows``, or [].

    Packs are filled largest segment first (first fit), so the result is the fewest segments
    the cap allows. A lone segment is worth rewriting only to give it the index it lacks.
    ``partial`` (writes still coming): a pack's largest segment is rewritten only once the
    others amount to ``_PARTIAL_SHARE`` of it; until then only the others are merged, so a
    trickle of writes does not rewrite a large segment for a few new rows.
    """
    for pack in _packs(segments, settings.max_segment_rows):
        others = sum(member.live_count for member in pack[1:])
        if partial and len(pack) > 1 and others < _PARTIAL_SHARE * pack[0].live_count:
            pack = pack[1:]
            if len(pack) < 2:
                continue
        if len(pack) > 1 or _lacks_index(pack, settings):
            return [member.segment.name for member in pack]
    return []


def optimize_plan(segments: Sequence[LiveSegment], settings: IndexSettings) -> list[list[str]]:
    """Every merge that takes the segments to the settled layout, with no deleted rows left."""
    plan = []
    for pack in _packs(segments, settings.max_segment_rows, include_full=True):
        if len(pack) > 1 or _lacks_index(pack, settings) or pack[0].deleted_count:
            plan.append([member.segment.name for member in pack])
    return plan


def _lacks_index(pack: Sequence[LiveSegment], settings: IndexSettings) -> bool:
    """Merged, the pack would get an index that one of its segments does not have."""
    rows = sum(member.live_count for member in pack)
    return any(member.segment.ann is None for member in pack) and wants_ann(
        rows, pack[0].segment.dimension, settings.ann_min_floats)


def _packs(segments: Sequence[LiveSegment], cap: int, *, include_full: bool = False) -> list[list[LiveSegment]]:
    """Segments packed largest first into groups of at most ``cap`` live rows (first fit)."""
    packs: list[list[LiveSegment]] = []
    for live in sorted(segments, key=lambda live: -live.live_count):
        if live.live_count >= cap:
            if include_full:
                packs.append([live])
            continue
        for pack in packs:
            if pack[0].live_count < cap and sum(member.live_count for member in pack) + live.live_count <= cap:
                pack.append(live)
                break
        else:
            packs.append([live])
    return packs
