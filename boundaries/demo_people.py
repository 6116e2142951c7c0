"""The demo district's people: Chinese names, mobile numbers and the duties of each role (seed 004)."""

from __future__ import annotations

import numpy as np

SURNAMES = list(
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶贺顾毛郝龚邵万钱严武戴孔汤"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志海燕晓东文斌宇浩凯俊帅鑫")
PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "158",
    "159",
    "176",
    "177",
    "180",
    "181",
    "186",
    "187",
    "189",
]
DUTIES = {
    "party": "每日早晚巡查责任路段，劝导占道经营，收集群众诉求，发现问题及时上报",
    "merchant": "落实门前三包，维护路段环境与经营秩序，及时上报安全隐患",
    "grid_worker": "入户走访，信息采集，矛盾调处，上报并跟进网格内事件",
    "grid_chief": "统筹社区网格员工作，督办网格事件",
    "official": "包保网格，每周至少两次陪同网格员巡查",
}


def person_name(rng: np.random.Generator) -> str:
    n = 1 if rng.random() < 0.35 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN, size=n))


def phone_number(rng: np.random.Generator) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{int(rng.integers(0, 10**8)):08d}"


def person(
    rng: np.random.Generator,
    role: str,
    street_id: str,
    community_id: str | None,
    grid_id: str | None,
    segment_id: str | None,
    kind: str | None = None,
) -> dict:
    """One row of the people layer (without its id, given once the street's people are all drawn)."""
    return {
        "name": person_name(rng),
        "role": role,
        "chief_kind": kind,
        "phone": phone_number(rng),
        "street_id": street_id,
        "community_id": community_id,
        "grid_id": grid_id,
        "segment_id": segment_id,
        "duties": DUTIES[kind or role],
    }
