"""Seed data for the muscle-group and sport catalogue (pure data, no Django).

A data migration imports this module to fill ``MuscleGroup``, ``Sport`` and ``SportDemand``.
Once seeded, the rows are edited in the admin; this module is the reviewed starting point and
is versioned by ``CATALOGUE_VERSION``. How every value was chosen, with the full sources, is in
``docs/catalogue.md`` (DESIGN.md appendices A and B are the origin).

Demand weights are stored as levels 0..3 (DESIGN appendix B: 0 low .. 3 very high) in one
table, ``SPORT_DEMAND_LEVELS``, and converted with ``weight_for_level`` (level / 3, rounded to
2 decimals). Level 0 means "the sport does not load this group" and is not stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

CATALOGUE_VERSION: Final[int] = 1

# ---------------------------------------------------------------------------------------------
# Body regions and map views
# ---------------------------------------------------------------------------------------------

# Ordered head to toe; (code, display name).
REGIONS: Final[tuple[tuple[str, str], ...]] = (
    ("head_neck", "Head & neck"),
    ("shoulder", "Shoulder girdle"),
    ("arm", "Arm & hand"),
    ("trunk", "Trunk"),
    ("hip", "Hip & pelvis"),
    ("thigh", "Thigh"),
    ("lower_leg", "Lower leg"),
    ("foot", "Foot"),
)

# Where a group is drawn on the body map: the front view, the back view, or both.
VIEWS: Final[tuple[str, ...]] = ("front", "back", "both")


@dataclass(frozen=True, slots=True)
class MuscleGroupSeed:
    """One muscle group of the catalogue, as seeded."""

    code: str
    name: str
    region: str
    view: str
    has_sides: bool
    description: str


def _group(
    code: str, name: str, region: str, view: str, description: str, *, has_sides: bool = True
) -> MuscleGroupSeed:
    return MuscleGroupSeed(
        code=code,
        name=name,
        region=region,
        view=view,
        has_sides=has_sides,
        description=description,
    )


# DESIGN appendix A, in its order (roughly head to toe). Every group is treated per side except
# rectus_abdominis, which crosses the midline and is palpated and treated as one structure.
MUSCLE_GROUPS: Final[tuple[MuscleGroupSeed, ...]] = (
    _group(
        "neck_anterior",
        "Anterior neck (SCM & scalenes)",
        "head_neck",
        "front",
        "Sternocleidomastoid; anterior, middle and posterior scalenes; deep neck flexors "
        "(longus colli, longus capitis)",
    ),
    _group(
        "neck_posterior",
        "Posterior neck & levator scapulae",
        "head_neck",
        "back",
        "Cervical extensors (splenius capitis and cervicis, semispinalis capitis, "
        "suboccipitals); levator scapulae",
    ),
    _group(
        "upper_trapezius",
        "Upper trapezius",
        "shoulder",
        "back",
        "Descending (upper) fibres of trapezius, occiput and cervical spine to lateral clavicle "
        "and acromion",
    ),
    _group(
        "mid_lower_trap_rhomboids",
        "Mid/lower trapezius & rhomboids",
        "shoulder",
        "back",
        "Transverse (middle) and ascending (lower) trapezius; rhomboid major and minor",
    ),
    _group(
        "latissimus",
        "Latissimus dorsi & teres major",
        "trunk",
        "back",
        "Latissimus dorsi; teres major",
    ),
    _group(
        "thoracic_erectors",
        "Thoracic erector spinae",
        "trunk",
        "back",
        "Thoracic erector spinae (iliocostalis, longissimus and spinalis thoracis); thoracic "
        "multifidus and rotatores",
    ),
    _group(
        "lumbar_erectors_ql",
        "Lumbar erectors & quadratus lumborum",
        "trunk",
        "back",
        "Lumbar erector spinae; lumbar multifidus; quadratus lumborum",
    ),
    _group(
        "pectorals",
        "Pectorals",
        "trunk",
        "front",
        "Pectoralis major (clavicular and sternocostal heads); pectoralis minor",
    ),
    _group(
        "serratus_anterior",
        "Serratus anterior",
        "trunk",
        "front",
        "Serratus anterior (lateral chest wall, upper eight or nine ribs to the medial border "
        "of the scapula)",
    ),
    _group(
        "deltoid_anterior",
        "Anterior deltoid",
        "shoulder",
        "front",
        "Anterior (clavicular) fibres of deltoid",
    ),
    _group(
        "deltoid_lat_post",
        "Lateral & posterior deltoid",
        "shoulder",
        "both",
        "Lateral (acromial) and posterior (spinal) fibres of deltoid",
    ),
    _group(
        "rotator_cuff",
        "Rotator cuff",
        "shoulder",
        "back",
        "Supraspinatus, infraspinatus, teres minor, subscapularis",
    ),
    _group(
        "biceps_brachialis",
        "Biceps & brachialis",
        "arm",
        "front",
        "Biceps brachii (long and short heads); brachialis; coracobrachialis",
    ),
    _group(
        "triceps",
        "Triceps",
        "arm",
        "back",
        "Triceps brachii (long, lateral and medial heads); anconeus",
    ),
    _group(
        "forearm_flexors",
        "Forearm flexors & pronators",
        "arm",
        "front",
        "Wrist and finger flexors (flexor carpi radialis and ulnaris, palmaris longus, flexor "
        "digitorum superficialis and profundus, flexor pollicis longus); pronator teres and "
        "quadratus; common flexor origin at the medial epicondyle",
    ),
    _group(
        "forearm_extensors",
        "Forearm extensors & supinator",
        "arm",
        "back",
        "Wrist and finger extensors (extensor carpi radialis longus and brevis, extensor carpi "
        "ulnaris, extensor digitorum); brachioradialis; supinator; common extensor origin at "
        "the lateral epicondyle",
    ),
    _group(
        "hand_intrinsics",
        "Hand intrinsics",
        "arm",
        "both",
        "Thenar and hypothenar muscles, adductor pollicis, lumbricals, palmar and dorsal "
        "interossei",
    ),
    _group(
        "rectus_abdominis",
        "Rectus abdominis",
        "trunk",
        "front",
        "Rectus abdominis, both bellies either side of the linea alba (midline: one group)",
        has_sides=False,
    ),
    _group(
        "obliques",
        "Obliques",
        "trunk",
        "front",
        "External and internal obliques; transversus abdominis",
    ),
    _group(
        "hip_flexors",
        "Hip flexors (iliopsoas)",
        "hip",
        "front",
        "Psoas major and iliacus (rectus femoris is in quadriceps, TFL in glute_med_min_tfl)",
    ),
    _group(
        "adductors",
        "Adductors (groin)",
        "thigh",
        "both",
        "Adductor longus, brevis and magnus; pectineus; gracilis",
    ),
    _group(
        "glute_max",
        "Gluteus maximus",
        "hip",
        "back",
        "Gluteus maximus",
    ),
    _group(
        "glute_med_min_tfl",
        "Gluteus medius/minimus & TFL",
        "hip",
        "both",
        "Gluteus medius, gluteus minimus, tensor fasciae latae",
    ),
    _group(
        "deep_hip_rotators",
        "Deep hip rotators (piriformis)",
        "hip",
        "back",
        "Piriformis, superior and inferior gemelli, obturator internus and externus, "
        "quadratus femoris",
    ),
    _group(
        "quadriceps",
        "Quadriceps",
        "thigh",
        "front",
        "Rectus femoris, vastus lateralis, vastus medialis, vastus intermedius",
    ),
    _group(
        "hamstrings",
        "Hamstrings",
        "thigh",
        "back",
        "Biceps femoris (long and short heads), semitendinosus, semimembranosus",
    ),
    _group(
        "itb_lateral_thigh",
        "ITB & lateral thigh",
        "thigh",
        "both",
        "Iliotibial band (tract) from its TFL and gluteus maximus attachments to Gerdy's "
        "tubercle; lateral thigh fascia",
    ),
    _group(
        "gastrocnemius",
        "Gastrocnemius",
        "lower_leg",
        "back",
        "Gastrocnemius (medial and lateral heads); plantaris",
    ),
    _group(
        "soleus",
        "Soleus & Achilles",
        "lower_leg",
        "back",
        "Soleus; Achilles tendon region; deep posterior compartment (tibialis posterior, "
        "flexor digitorum longus, flexor hallucis longus)",
    ),
    _group(
        "tibialis_anterior",
        "Tibialis anterior & shin",
        "lower_leg",
        "front",
        "Tibialis anterior, extensor digitorum longus, extensor hallucis longus (anterior "
        "compartment)",
    ),
    _group(
        "peroneals",
        "Peroneals (fibularis)",
        "lower_leg",
        "both",
        "Peroneus (fibularis) longus, brevis and tertius (lateral compartment)",
    ),
    _group(
        "plantar_foot",
        "Plantar foot",
        "foot",
        "back",
        "Plantar fascia; intrinsic foot muscles (abductor hallucis, flexor digitorum brevis, "
        "quadratus plantae, abductor digiti minimi)",
    ),
)

MUSCLE_GROUP_CODES: Final[frozenset[str]] = frozenset(group.code for group in MUSCLE_GROUPS)

# ---------------------------------------------------------------------------------------------
# Sports, their sources and their demand on each group
# ---------------------------------------------------------------------------------------------

DEMAND_LEVEL_MAX: Final[int] = 3


def weight_for_level(level: int) -> float:
    """Demand weight 0..1 for an appendix-B level 0..3: ``round(level / 3, 2)``."""
    if not 0 <= level <= DEMAND_LEVEL_MAX:
        raise ValueError(f"demand level must be 0..{DEMAND_LEVEL_MAX}, got {level}")
    return round(level / DEMAND_LEVEL_MAX, 2)


@dataclass(frozen=True, slots=True)
class SportSeed:
    """One sport, the citations behind its profile, and its demand per muscle group code."""

    code: str
    name: str
    source: str
    # Read-only mapping; excluded from the hash because mappings are not hashable.
    demand: Mapping[str, float] = field(hash=False)


# References (Vancouver style). DOIs are given only where they were checked.
_EKSTRAND_2011: Final = (
    "Ekstrand J, Hägglund M, Waldén M. Epidemiology of muscle injuries in professional "
    "football (soccer). Am J Sports Med. 2011;39(6):1226-1232. doi:10.1177/0363546510395879"
)
_EKSTRAND_2016: Final = (
    "Ekstrand J, Waldén M, Hägglund M. Hamstring injuries have increased by 4% annually in "
    "men's professional football, since 2001: a 13-year longitudinal analysis of the UEFA "
    "Elite Club injury study. Br J Sports Med. 2016;50(12):731-737. "
    "doi:10.1136/bjsports-2015-095359"
)
_DRAKOS_2010: Final = (
    "Drakos MC, Domb B, Starkey C, Callahan L, Allen AA. Injury in the National Basketball "
    "Association: a 17-year overview. Sports Health. 2010;2(4):284-290. "
    "doi:10.1177/1941738109357303"
)
_LOPES_2012: Final = (
    "Lopes AD, Hespanhol Júnior LC, Yeung SS, Costa LOP. What are the most common "
    "running-related musculoskeletal injuries? A systematic review. Sports Med. "
    "2012;42(10):891-905. doi:10.1007/BF03262301"
)
_VAN_DER_WORP_2012: Final = (
    "van der Worp MP, van der Horst N, de Wijer A, Backx FJG, Nijhuis-van der Sanden MWG. "
    "Iliotibial band syndrome in runners: a systematic review. Sports Med. "
    "2012;42(11):969-992. doi:10.1007/BF03262306"
)
_ALONSO_2012: Final = (
    "Alonso JM, Edouard P, Fischetto G, Adams B, Depiesse F, Mountjoy M. Determination of "
    "future prevention strategies in elite track and field: analysis of Daegu 2011 IAAF "
    "Championships injuries and illnesses surveillance. Br J Sports Med. 2012;46(7):505-514. "
    "doi:10.1136/bjsports-2012-091008"
)
_CLARSEN_2010: Final = (
    "Clarsen B, Krosshaug T, Bahr R. Overuse injuries in professional road cyclists. "
    "Am J Sports Med. 2010;38(12):2494-2501. doi:10.1177/0363546510376816"
)
_HOLMES_1993: Final = (
    "Holmes JC, Pruitt AL, Whalen NJ. Iliotibial band syndrome in cyclists. Am J Sports Med. "
    "1993;21(3):419-424. doi:10.1177/036354659302100316"
)
_WALKER_2012: Final = (
    "Walker H, Gabbe B, Wajswelner H, Blanch P, Bennell K. Shoulder pain in swimmers: a "
    "12-month prospective cohort study of incidence and risk factors. Phys Ther Sport. "
    "2012;13(4):243-249. doi:10.1016/j.ptsp.2012.01.001"
)
_HEINLEIN_2010: Final = (
    "Heinlein SA, Cosgarea AJ. Biomechanical considerations in the competitive swimmer's "
    "shoulder. Sports Health. 2010;2(6). doi:10.1177/1941738110377611"
)
_NUGENT_2021: Final = (
    "Nugent FJ, Vinther A, McGregor A, Thornton JS, Wilkie K, Wilson F. The relationship "
    "between rowing-related low back pain and rowing biomechanics: a systematic review. "
    "Br J Sports Med. 2021;55(11):616-628. doi:10.1136/bjsports-2020-102533"
)
_PLUIM_2006: Final = (
    "Pluim BM, Staal JB, Windler GE, Jayanthi N. Tennis injuries: occurrence, aetiology, and "
    "prevention. Br J Sports Med. 2006;40(5):415-423. doi:10.1136/bjsm.2005.023184"
)
_ESCAMILLA_2009: Final = (
    "Escamilla RF, Andrews JR. Shoulder muscle recruitment patterns and related biomechanics "
    "during upper extremity sports. Sports Med. 2009;39(7):569-590."
)
_BROOKS_2005_MATCH: Final = (
    "Brooks JHM, Fuller CW, Kemp SPT, Reddin DB. Epidemiology of injuries in English "
    "professional rugby union: part 1 match injuries. Br J Sports Med. 2005;39(10):757-766."
)
_BROOKS_2005_TRAINING: Final = (
    "Brooks JHM, Fuller CW, Kemp SPT, Reddin DB. Epidemiology of injuries in English "
    "professional rugby union: part 2 training injuries. Br J Sports Med. "
    "2005;39(10):767-775."
)
_BROOKS_2006: Final = (
    "Brooks JHM, Fuller CW, Kemp SPT, Reddin DB. Incidence, risk, and prevention of hamstring "
    "muscle injuries in professional rugby union. Am J Sports Med. 2006;34(8):1297-1306. "
    "doi:10.1177/0363546505286022"
)
_REESER_2006: Final = (
    "Reeser JC, Verhagen E, Briner WW, Askeland TI, Bahr R. Strategies for the prevention of "
    "volleyball related injuries. Br J Sports Med. 2006;40(7):594-600. "
    "doi:10.1136/bjsm.2005.018234"
)
_POSNER_2011: Final = (
    "Posner M, Cameron KL, Wolf JM, Belmont PJ Jr, Owens BD. Epidemiology of Major League "
    "Baseball injuries. Am J Sports Med. 2011;39(8):1676-1680. doi:10.1177/0363546511411700"
)
_TYLER_2001: Final = (
    "Tyler TF, Nicholas SJ, Campbell RJ, McHugh MP. The association of hip strength and "
    "flexibility with the incidence of adductor muscle strains in professional ice hockey "
    "players. Am J Sports Med. 2001;29(2):124-128. doi:10.1177/03635465010290020301"
)

# (code, display name, references); the order is also the column order of the level table.
_SPORT_DEFINITIONS: Final[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
    ("football", "Football (soccer)", (_EKSTRAND_2011, _EKSTRAND_2016)),
    ("basketball", "Basketball", (_DRAKOS_2010,)),
    ("distance_running", "Distance running", (_LOPES_2012, _VAN_DER_WORP_2012)),
    ("sprinting", "Sprinting", (_ALONSO_2012,)),
    ("cycling", "Cycling", (_CLARSEN_2010, _HOLMES_1993)),
    ("swimming", "Swimming", (_WALKER_2012, _HEINLEIN_2010)),
    ("rowing", "Rowing", (_NUGENT_2021,)),
    ("tennis", "Tennis", (_PLUIM_2006, _ESCAMILLA_2009)),
    ("rugby", "Rugby union", (_BROOKS_2005_MATCH, _BROOKS_2005_TRAINING, _BROOKS_2006)),
    ("volleyball", "Volleyball", (_REESER_2006, _ESCAMILLA_2009)),
    ("baseball", "Baseball (pitching)", (_POSNER_2011, _ESCAMILLA_2009)),
    ("ice_hockey", "Ice hockey", (_TYLER_2001,)),
)

SPORT_CODES: Final[tuple[str, ...]] = tuple(code for code, _, _ in _SPORT_DEFINITIONS)

# Demand level 0..3 per muscle group, one column per sport in SPORT_CODES order:
#   football, basketball, distance_running, sprinting, cycling, swimming,
#   rowing, tennis, rugby, volleyball, baseball, ice_hockey
# Rows marked B are DESIGN appendix B expanded to every member group; rows marked R are
# reasoned from biomechanics where appendix B is silent (see docs/catalogue.md, "Added rows").
# fmt: off
SPORT_DEMAND_LEVELS: Final[Mapping[str, tuple[int, ...]]] = MappingProxyType(
    {
        #                          fb bb dr sp cy sw ro te ru vb ba ih
        "neck_anterior":          (1, 0, 0, 0, 0, 1, 0, 0, 3, 0, 0, 2),  # R
        "neck_posterior":         (1, 1, 1, 1, 2, 2, 2, 1, 3, 1, 1, 2),  # B
        "upper_trapezius":        (1, 1, 1, 1, 2, 2, 2, 1, 3, 1, 1, 2),  # B
        "mid_lower_trap_rhomboids": (0, 1, 0, 0, 1, 3, 3, 2, 2, 2, 3, 1),  # B
        "latissimus":             (0, 1, 0, 0, 0, 3, 3, 2, 2, 2, 2, 1),  # B
        "thoracic_erectors":      (1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2),  # R
        "lumbar_erectors_ql":     (1, 2, 1, 1, 3, 2, 3, 2, 2, 2, 2, 2),  # B
        "pectorals":              (0, 1, 0, 0, 0, 3, 1, 2, 2, 1, 2, 1),  # B
        "serratus_anterior":      (0, 1, 0, 0, 0, 3, 2, 2, 2, 2, 3, 1),  # R
        "deltoid_anterior":       (0, 1, 0, 0, 0, 3, 1, 3, 2, 3, 3, 2),  # B
        "deltoid_lat_post":       (0, 1, 0, 0, 0, 3, 1, 3, 2, 3, 3, 2),  # B
        "rotator_cuff":           (0, 1, 0, 0, 0, 3, 1, 3, 2, 3, 3, 2),  # B
        "biceps_brachialis":      (0, 1, 0, 0, 1, 1, 2, 1, 2, 1, 2, 1),  # R
        "triceps":                (0, 2, 0, 0, 1, 3, 1, 2, 2, 3, 2, 1),  # R
        "forearm_flexors":        (0, 1, 0, 0, 1, 1, 2, 3, 1, 1, 3, 2),  # B
        "forearm_extensors":      (0, 1, 0, 0, 1, 1, 2, 3, 1, 1, 3, 2),  # B
        "hand_intrinsics":        (0, 1, 0, 0, 1, 0, 2, 2, 1, 1, 2, 1),  # R
        "rectus_abdominis":       (1, 1, 1, 2, 1, 2, 2, 3, 2, 2, 3, 2),  # B
        "obliques":               (1, 1, 1, 2, 1, 2, 2, 3, 2, 2, 3, 2),  # B
        "hip_flexors":            (2, 2, 2, 3, 2, 1, 2, 2, 2, 2, 1, 3),  # B
        "adductors":              (3, 2, 1, 2, 1, 2, 1, 2, 2, 1, 1, 3),  # B
        "glute_max":              (2, 2, 2, 3, 3, 1, 3, 2, 2, 2, 2, 3),  # B
        "glute_med_min_tfl":      (2, 2, 2, 3, 3, 1, 3, 2, 2, 2, 2, 3),  # B
        "deep_hip_rotators":      (2, 2, 2, 2, 1, 1, 1, 2, 2, 1, 2, 3),  # R
        "quadriceps":             (3, 3, 2, 2, 3, 1, 3, 2, 3, 3, 1, 3),  # B
        "hamstrings":             (3, 2, 2, 3, 2, 1, 2, 2, 3, 2, 2, 2),  # B
        "itb_lateral_thigh":      (1, 1, 3, 1, 3, 0, 1, 1, 1, 1, 0, 1),  # R
        "gastrocnemius":          (3, 3, 3, 3, 2, 1, 1, 3, 2, 3, 1, 1),  # B
        "soleus":                 (3, 3, 3, 3, 2, 1, 1, 3, 2, 3, 1, 1),  # B
        "tibialis_anterior":      (1, 2, 3, 2, 1, 0, 0, 2, 1, 2, 0, 1),  # B
        "peroneals":              (1, 2, 3, 2, 1, 0, 0, 2, 1, 2, 0, 1),  # B
        "plantar_foot":           (1, 2, 3, 2, 1, 0, 0, 2, 1, 2, 0, 0),  # B
    }
)
# fmt: on


def _demand_for(column: int) -> Mapping[str, float]:
    """Weights > 0 of one sport column, in MUSCLE_GROUPS order."""
    weights = {
        group.code: weight_for_level(SPORT_DEMAND_LEVELS[group.code][column])
        for group in MUSCLE_GROUPS
        if SPORT_DEMAND_LEVELS[group.code][column] > 0
    }
    return MappingProxyType(weights)


SPORTS: Final[tuple[SportSeed, ...]] = tuple(
    SportSeed(code=code, name=name, source="\n".join(references), demand=_demand_for(column))
    for column, (code, name, references) in enumerate(_SPORT_DEFINITIONS)
)
