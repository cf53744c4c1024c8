"""`top_focus` (the dashboards' and the therapist queue's cheap path) is exactly
`recommend(...).focus[0]` for any inputs: the real catalogue and sport profiles, soreness,
treatments, injuries, matches and load contexts drawn at random."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recovery.domain.catalogue import MUSCLE_GROUPS, SPORTS
from recovery.domain.recommendation import (
    InjurySignal,
    InjuryStatus,
    LoadContext,
    MuscleGroupRef,
    Side,
    SorenessKind,
    SorenessSignal,
    Technique,
    TreatmentRecord,
    recommend,
    top_focus,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
GROUPS = tuple(MuscleGroupRef(g.code, g.name, g.has_sides, g.region) for g in MUSCLE_GROUPS)
CODES = [g.code for g in GROUPS]
# Few groups drawn often, so that sides, merges, ties and broad tension all come up.
FOCUS_CODES = st.sampled_from(
    ["hamstrings", "quadriceps", "adductors", "rectus_abdominis", *CODES[:6]]
)
sides = st.sampled_from([None, *Side])
hours = st.floats(min_value=-6, max_value=30 * 24, allow_nan=False)


def ago(h: float) -> datetime:
    return NOW - timedelta(hours=h)


soreness_signals = st.builds(
    SorenessSignal,
    FOCUS_CODES,
    sides,
    st.integers(0, 10),
    st.sampled_from(SorenessKind),
    st.booleans(),
    st.sampled_from([2.0, 20.0, 30.0, 50.0, 70.0, 100.0, 150.0]).map(ago) | hours.map(ago),
)
treatment_records = st.builds(
    TreatmentRecord,
    FOCUS_CODES,
    sides,
    hours.map(ago),
    st.sampled_from(Technique),
    st.integers(0, 4),
    st.none() | st.integers(0, 10),
    st.none() | st.integers(0, 10),
)
injury_signals = st.builds(InjurySignal, FOCUS_CODES, sides, st.sampled_from(InjuryStatus))
load_contexts = st.builds(
    LoadContext,
    acwr=st.none() | st.floats(0, 3),
    risk_band=st.none() | st.sampled_from(["low", "moderate", "caution", "high"]),
    acute_au=st.none() | st.floats(0, 900),
    chronic_au=st.none() | st.floats(0, 900),
    last_match_at=st.none() | st.sampled_from([10.0, 30.0, 50.0, 80.0]).map(ago),
    next_match_at=st.none()
    | st.sampled_from([1.0, 12.0, 48.0]).map(lambda h: NOW + timedelta(hours=h)),
)
demands = st.sampled_from([dict(s.demand) for s in SPORTS]) | st.dictionaries(
    FOCUS_CODES, st.sampled_from([0.0, 0.33, 0.333, 0.3334, 0.67, 1.0])
)
inputs = st.fixed_dictionaries(
    {
        "demand": demands,
        "soreness": st.lists(soreness_signals, max_size=10),
        "treatments": st.lists(treatment_records, max_size=6),
        "injuries": st.lists(injury_signals, max_size=3),
        "load": load_contexts,
        "limit": st.integers(0, 3),
    }
)


def first_of_recommend(**kwargs: Any):
    focus = recommend(now=NOW, groups=GROUPS, sport_name="football", **kwargs).focus
    return focus[0] if focus else None


@settings(max_examples=1500, deadline=None)
@given(kwargs=inputs)
def test_top_focus_is_the_first_item_of_the_full_recommendation(kwargs: dict[str, Any]) -> None:
    expected = first_of_recommend(**kwargs)
    assert top_focus(now=NOW, groups=GROUPS, sport_name="football", **kwargs) == expected


def test_everything_avoided_or_a_zero_limit_has_no_top_focus():
    only = (MuscleGroupRef("neck", "Neck", False, "neck"),)
    injured = [InjurySignal("neck", None, InjuryStatus.ACTIVE)]
    common = {"now": NOW, "demand": {}, "soreness": [], "treatments": [], "load": LoadContext()}
    assert top_focus(groups=only, injuries=injured, **common) is None
    assert top_focus(groups=only, injuries=[], limit=0, **common) is None


def test_the_same_errors_as_recommend():
    common = {"now": NOW, "demand": {}, "soreness": [], "treatments": [], "injuries": []}
    with pytest.raises(ValueError, match="limit"):
        top_focus(groups=GROUPS, load=LoadContext(), limit=-1, **common)
    with pytest.raises(ValueError, match="duplicate"):
        top_focus(groups=GROUPS + GROUPS[:1], load=LoadContext(), **common)
