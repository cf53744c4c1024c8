"""The seeded muscle-group and sport catalogue matches DESIGN appendices A and B."""

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from recovery.domain import catalogue
from recovery.domain.catalogue import (
    CATALOGUE_VERSION,
    MUSCLE_GROUP_CODES,
    MUSCLE_GROUPS,
    REGIONS,
    SPORT_CODES,
    SPORT_DEMAND_LEVELS,
    SPORTS,
    VIEWS,
    weight_for_level,
)

# DESIGN appendix A, in its order.
APPENDIX_A_CODES = (
    "neck_anterior",
    "neck_posterior",
    "upper_trapezius",
    "mid_lower_trap_rhomboids",
    "latissimus",
    "thoracic_erectors",
    "lumbar_erectors_ql",
    "pectorals",
    "serratus_anterior",
    "deltoid_anterior",
    "deltoid_lat_post",
    "rotator_cuff",
    "biceps_brachialis",
    "triceps",
    "forearm_flexors",
    "forearm_extensors",
    "hand_intrinsics",
    "rectus_abdominis",
    "obliques",
    "hip_flexors",
    "adductors",
    "glute_max",
    "glute_med_min_tfl",
    "deep_hip_rotators",
    "quadriceps",
    "hamstrings",
    "itb_lateral_thigh",
    "gastrocnemius",
    "soleus",
    "tibialis_anterior",
    "peroneals",
    "plantar_foot",
)

REQUIRED_SPORTS = {
    "football",
    "basketball",
    "distance_running",
    "sprinting",
    "cycling",
    "swimming",
    "rowing",
    "tennis",
    "rugby",
    "volleyball",
    "baseball",
    "ice_hockey",
}

# Appendix B rows that name several groups: every member must carry the same level.
APPENDIX_B_GROUPED_ROWS = (
    ("neck_posterior", "upper_trapezius"),
    ("rotator_cuff", "deltoid_anterior", "deltoid_lat_post"),
    ("forearm_flexors", "forearm_extensors"),
    ("obliques", "rectus_abdominis"),
    ("glute_max", "glute_med_min_tfl"),
    ("gastrocnemius", "soleus"),
    ("tibialis_anterior", "peroneals"),
)

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
SPORTS_BY_CODE = {sport.code: sport for sport in SPORTS}


def test_catalogue_version_is_one() -> None:
    assert CATALOGUE_VERSION == 1


def test_group_count_is_in_the_expected_range() -> None:
    assert 25 <= len(MUSCLE_GROUPS) <= 35


def test_group_codes_are_exactly_appendix_a_in_order() -> None:
    assert tuple(group.code for group in MUSCLE_GROUPS) == APPENDIX_A_CODES
    assert frozenset(APPENDIX_A_CODES) == MUSCLE_GROUP_CODES


def test_group_codes_are_unique_snake_case() -> None:
    codes = [group.code for group in MUSCLE_GROUPS]
    assert len(codes) == len(set(codes))
    assert all(SNAKE_CASE.match(code) for code in codes)


def test_group_names_and_descriptions_are_present_and_names_unique() -> None:
    names = [group.name for group in MUSCLE_GROUPS]
    assert all(name.strip() for name in names)
    assert len(names) == len(set(names))
    assert all(group.description.strip() for group in MUSCLE_GROUPS)


def test_every_group_has_a_known_region_and_every_region_is_used() -> None:
    region_codes = [code for code, _ in REGIONS]
    assert len(region_codes) == len(set(region_codes))
    assert all(SNAKE_CASE.match(code) for code in region_codes)
    assert all(name.strip() for _, name in REGIONS)
    assert {group.region for group in MUSCLE_GROUPS} == set(region_codes)


def test_every_group_has_a_known_view() -> None:
    assert set(VIEWS) == {"front", "back", "both"}
    assert {group.view for group in MUSCLE_GROUPS} <= set(VIEWS)


def test_only_rectus_abdominis_is_midline() -> None:
    assert {group.code for group in MUSCLE_GROUPS if not group.has_sides} == {"rectus_abdominis"}


def test_all_required_sports_are_present_with_unique_snake_case_codes() -> None:
    codes = [sport.code for sport in SPORTS]
    assert len(codes) == len(set(codes))
    assert all(SNAKE_CASE.match(code) for code in codes)
    assert set(codes) >= REQUIRED_SPORTS
    assert tuple(codes) == SPORT_CODES
    assert all(sport.name.strip() for sport in SPORTS)


def test_every_demand_key_is_a_known_group_code() -> None:
    for sport in SPORTS:
        assert set(sport.demand) <= MUSCLE_GROUP_CODES, sport.code


def test_every_stored_weight_is_in_zero_one_and_a_level_third() -> None:
    allowed = {0.33, 0.67, 1.0}
    for sport in SPORTS:
        assert sport.demand, sport.code
        for code, weight in sport.demand.items():
            assert 0 < weight <= 1, (sport.code, code)
            assert weight in allowed, (sport.code, code, weight)


def test_level_table_covers_every_group_with_one_level_per_sport() -> None:
    assert set(SPORT_DEMAND_LEVELS) == MUSCLE_GROUP_CODES
    for code, levels in SPORT_DEMAND_LEVELS.items():
        assert len(levels) == len(SPORTS), code
        assert all(0 <= level <= 3 for level in levels), code


def test_weights_are_the_level_table_divided_by_three() -> None:
    for column, sport in enumerate(SPORTS):
        expected = {
            code: round(levels[column] / 3, 2)
            for code, levels in SPORT_DEMAND_LEVELS.items()
            if levels[column] > 0
        }
        assert dict(sport.demand) == expected, sport.code


@pytest.mark.parametrize(
    ("sport", "group", "weight"),
    [
        ("football", "hamstrings", 1.0),
        ("football", "adductors", 1.0),
        ("football", "lumbar_erectors_ql", 0.33),
        ("swimming", "rotator_cuff", 1.0),
        ("swimming", "latissimus", 1.0),
        ("distance_running", "plantar_foot", 1.0),
        ("distance_running", "tibialis_anterior", 1.0),
        ("sprinting", "hip_flexors", 1.0),
        ("cycling", "lumbar_erectors_ql", 1.0),
        ("cycling", "hamstrings", 0.67),
        ("rowing", "mid_lower_trap_rhomboids", 1.0),
        ("tennis", "forearm_extensors", 1.0),
        ("rugby", "neck_posterior", 1.0),
        ("volleyball", "deltoid_lat_post", 1.0),
        ("baseball", "forearm_flexors", 1.0),
        ("basketball", "latissimus", 0.33),
        ("ice_hockey", "adductors", 1.0),
    ],
)
def test_spot_checks_against_appendix_b(sport: str, group: str, weight: float) -> None:
    assert SPORTS_BY_CODE[sport].demand[group] == weight


@pytest.mark.parametrize(
    ("sport", "group"),
    [
        ("cycling", "pectorals"),
        ("cycling", "rotator_cuff"),
        ("football", "latissimus"),
        ("swimming", "plantar_foot"),
        ("rowing", "tibialis_anterior"),
        ("baseball", "peroneals"),
        ("ice_hockey", "plantar_foot"),
    ],
)
def test_level_zero_in_appendix_b_is_not_stored(sport: str, group: str) -> None:
    assert group not in SPORTS_BY_CODE[sport].demand


@pytest.mark.parametrize("members", APPENDIX_B_GROUPED_ROWS)
def test_grouped_appendix_b_rows_are_expanded_to_every_member(members: tuple[str, ...]) -> None:
    for sport in SPORTS:
        weights = {sport.demand.get(code, 0.0) for code in members}
        assert len(weights) == 1, (sport.code, members, weights)


@pytest.mark.parametrize(
    ("sport", "group", "weight"),
    [
        ("swimming", "triceps", 1.0),
        ("volleyball", "triceps", 1.0),
        ("basketball", "triceps", 0.67),
        ("distance_running", "itb_lateral_thigh", 1.0),
        ("cycling", "itb_lateral_thigh", 1.0),
        ("football", "deep_hip_rotators", 0.67),
        ("distance_running", "deep_hip_rotators", 0.67),
        ("rowing", "hand_intrinsics", 0.67),
        ("tennis", "hand_intrinsics", 0.67),
        ("baseball", "hand_intrinsics", 0.67),
        ("rugby", "neck_anterior", 1.0),
    ],
)
def test_reasoned_levels_for_groups_appendix_b_omits(sport: str, group: str, weight: float) -> None:
    assert SPORTS_BY_CODE[sport].demand[group] == weight


def test_every_sport_cites_its_appendix_b_source() -> None:
    first_author = {
        "football": "Ekstrand",
        "basketball": "Drakos",
        "distance_running": "Lopes",
        "sprinting": "Alonso",
        "cycling": "Clarsen",
        "swimming": "Walker",
        "rowing": "Nugent",
        "tennis": "Pluim",
        "rugby": "Brooks",
        "volleyball": "Reeser",
        "baseball": "Posner",
        "ice_hockey": "Tyler",
    }
    for sport in SPORTS:
        assert sport.source.strip(), sport.code
        assert sport.source.startswith(first_author[sport.code]), sport.code


@pytest.mark.parametrize(("level", "weight"), [(0, 0.0), (1, 0.33), (2, 0.67), (3, 1.0)])
def test_weight_for_level_is_level_over_three_rounded(level: int, weight: float) -> None:
    assert weight_for_level(level) == weight


@pytest.mark.parametrize("level", [-1, 4])
def test_weight_for_level_rejects_levels_outside_zero_to_three(level: int) -> None:
    with pytest.raises(ValueError, match=r"0\.\.3"):
        weight_for_level(level)


def test_seeds_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MUSCLE_GROUPS[0].name = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SPORTS[0].demand["hamstrings"] = 0.0  # type: ignore[index]
    assert isinstance(hash(SPORTS[0]), int)


def test_catalogue_module_imports_no_django() -> None:
    tree = ast.parse(Path(catalogue.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"django", "rest_framework"}
