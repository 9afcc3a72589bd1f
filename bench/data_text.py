"""Names, titles and wording for the benchmark dataset, in the programme's own terms.

Everything is drawn from fixed pools with the generator's seeded ``Random``, so the same
seed names the same county, people and tasks.
"""

from __future__ import annotations

from random import Random
from typing import Final

from models.enums import OrgLevel, TaskCategory

SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
)
GIVEN: Final = (
    "建国华明志文平军伟强勇杰涛斌超辉刚林波鹏磊敏静丽芳娟霞燕红英秀兰玲梅琴云飞海亮东春成"
    "光永德学正福贵荣发兴富宏庆顺安坤龙凤珍桂萍艳玉"
)
PLACE: Final = (
    "扎西罗布麟凤长安水田旧城双河高坪庙沟石龙井滩坝顺杉木青松柏竹溪云岭花桥新街大塘碧"
    "草湾河口梨园金沙银厂茶山马鞍鹿鸣白岩黑泥红岩黄坡观音寨堡营盘铺"
)
NUMERALS: Final = (
    "一",
    "二",
    "三",
    "四",
    "五",
    "六",
    "七",
    "八",
    "九",
    "十",
    "十一",
    "十二",
    "十三",
    "十四",
    "十五",
    "十六",
    "十七",
    "十八",
    "十九",
    "二十",
)
DEPARTMENTS: Final = (
    "水务局",  # the first department is bench_department's: paired with villages and a river
    "生态环境局",
    "林业和草原局",
    "农业农村局",
    "住房和城乡建设局",
    "委组织部",
    "自然资源局",
    "交通运输局",
    "文化和旅游局",
    "卫生健康局",
)

# Who sits at a unit of each level; the first is the head, who holds the unit's account.
TITLES: Final[dict[OrgLevel, tuple[str, ...]]] = {
    OrgLevel.COUNTY: (
        "县委副书记、县河长制办公室主任",
        "县委书记、县级总河长",
        "县长、县级副总河长",
        "县纪委监委第一监督检查室主任",
        "县纪委监委第三监督检查室主任",
        "县河长制办公室副主任",
        "县河长制办公室干部",
        "县河长制办公室干部",
    ),
    OrgLevel.DEPARTMENT: ("党组书记、局长", "副局长", "河湖管理股股长", "机关支部书记", "干部"),
    OrgLevel.TOWNSHIP: (
        "党委书记、镇级河长",
        "镇长、镇级副河长",
        "副镇长",
        "河长制工作站站长",
        "党政办干部",
        "驻村工作队员",
    ),
    OrgLevel.VILLAGE: (
        "党支部书记、村级河长",
        "村委会主任",
        "村监委会主任",
        "河道保洁员（公益岗位）",
        "河道保洁员（公益岗位）",
        "党员",
        "党员",
        "民兵连长",
    ),
    OrgLevel.GRID: (
        "网格长、党员责任区责任人",
        "网格员",
        "联户长",
        "联户长",
        "联户长",
        "河道保洁员",
    ),
}
INSPECTOR_SEATS: Final = (3, 4)  # the county's two discipline inspectors, by seat in TITLES

# Task titles by category: ``{unit}`` is the unit's name.
TASK_TITLES: Final[dict[TaskCategory, tuple[str, ...]]] = {
    TaskCategory.FISHING_BAN: (
        "{unit}禁渔巡查与宣传",
        "{unit}沿河禁渔宣传入户",
        "{unit}禁渔联合执法",
    ),
    TaskCategory.POLLUTION_TREATMENT: (
        "{unit}生活污水收集处理",
        "{unit}集镇污水管网接户",
        "{unit}生活垃圾收运体系建设",
        "{unit}入河排污口排查整治",
    ),
    TaskCategory.AGRICULTURAL_NONPOINT: (
        "{unit}化肥农药减量增效",
        "{unit}畜禽粪污资源化利用",
        "{unit}测土配方施肥推广",
    ),
    TaskCategory.ECOLOGICAL_RESTORATION: (
        "{unit}退耕还林和水土流失治理",
        "{unit}河岸植被恢复",
        "{unit}增殖放流点看护",
    ),
    TaskCategory.GREEN_INDUSTRY: ("{unit}生态农业示范园建设", "{unit}有机茶园有机肥替代化肥"),
    TaskCategory.BEAUTIFUL_VILLAGE: ("{unit}人居环境整治", "{unit}美丽村庄创建", "{unit}厕所革命"),
    TaskCategory.PATROL: ("{unit}巡河", "{unit}汛前巡查", "{unit}禁渔日巡查", "{unit}每周巡河"),
    TaskCategory.CLEANUP: ("{unit}周五清河", "{unit}“1110”日保洁", "{unit}河道垃圾清理"),
    TaskCategory.KEY_PROJECT: (
        "重点项目“三挂三包”：{unit}污水处理站提标改造",
        "重点项目：{unit}河道综合整治工程",
        "{unit}“双提升”示范点三年创建",
    ),
    TaskCategory.OTHER: ("{unit}支部联建主题党日", "{unit}党员示范岗亮牌", "{unit}河长公示牌更新"),
}
TASK_DESCRIPTIONS: Final[dict[TaskCategory, str]] = {
    TaskCategory.FISHING_BAN: "落实长江十年禁渔，常态化巡查、宣传和联合执法。",
    TaskCategory.POLLUTION_TREATMENT: "“两污”治理：污水收集处理和垃圾收运，按月报送进度。",
    TaskCategory.AGRICULTURAL_NONPOINT: "化肥农药减量、畜禽粪污资源化利用，防治农业面源污染。",
    TaskCategory.ECOLOGICAL_RESTORATION: "退耕还林、水土流失治理和河岸生态修复。",
    TaskCategory.GREEN_INDUSTRY: "发展生态农业和绿色产业，带动群众增收。",
    TaskCategory.BEAUTIFUL_VILLAGE: "村庄人居环境整治，建设美丽村庄。",
    TaskCategory.PATROL: "按责任河段巡河，记录问题并拍照留档。",
    TaskCategory.CLEANUP: "组织党员、保洁员和群众清理河道垃圾。",
    TaskCategory.KEY_PROJECT: "县级领导挂包，按月调度，按期完成。",
    TaskCategory.OTHER: "",
}
NOTES: Final[dict[str, tuple[str, ...]]] = {
    "SUBMIT": ("已按要求完成，附巡查记录和照片。", "已完成，请审核销号。", ""),
    "REJECT": ("佐证材料不全，请补充后重新提交。", "巡查记录与轨迹不符，退回补充。"),
    "VERIFY": ("同意销号。", ""),
    "CANCEL": ("并入县级统一行动。", "任务调整，撤销。"),
    "RETURN": ("不属于本网格职责范围，请重新分派。",),
    "URGE": ("已逾期，请加快进度，按期完成。", "请于本周内报送进展。"),
    "REPLY": ("已安排人员，本周内完成。", "因汛期延误，正在抓紧推进。"),
    "ESCALATE": ("任务逾期未完成，提请督办。", "整改逾期，提请上级协调。"),
}
FINDINGS: Final = (
    "左岸生活垃圾堆放一处",
    "排水口有异味",
    "河道内有阻水树木",
    "发现非法捕捞网具一处",
    "护岸局部垮塌",
    "水面漂浮物较多",
    "河长公示牌破损",
    "沿岸有畜禽粪污直排",
)
LANDMARKS: Final = ("村委会", "大桥", "水文站", "渡口", "小学", "交界处", "拦河坝", "文化广场")
SIX_GOODS: Final = (
    ("硬件设施好", 20),
    ("党员教育好", 15),
    ("活动开展好", 15),
    ("工作业绩好", 20),
    ("创建特色好", 15),
    ("台账整理好", 15),
)
YEARLY_CRITERIA: Final = (
    ("巡河履职", 25),
    ("问题整改", 25),
    ("保洁成效", 20),
    ("台账资料", 15),
    ("群众满意度", 15),
)
PLEDGES: Final = ("保护母亲河·我来当先锋", "党员责任区承诺书", "河道保洁“门前三包”承诺书")
AWARDS: Final = ("优秀村级河长", "优秀网格长", "河湖保护先锋队", "优秀河道保洁员")
PENALTY_MEASURES: Final = ("通报批评", "约谈", "责令限期整改")
PENALTY_BASES: Final = ("县纪委监委督查发现", "年度考核不合格", "群众举报核实")
SEVERITIES: Final = ("一般", "一般", "较重")
EVIDENCE: Final = ("巡河记录截图", "定位轨迹导出", "现场照片", "群众反映记录")


def person_name(rng: Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def place_name(rng: Random) -> str:
    return rng.choice(PLACE) + rng.choice(PLACE)


def phone(rng: Random) -> str:
    return f"1{rng.choice(('39', '38', '37', '58', '87'))}{rng.randrange(10**8):08d}"


_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK: Final = "10X98765432"


def id_number(rng: Random, region: str) -> str:
    """A resident ID of the right shape: region, birth date, sequence, ISO 7064 check."""
    body = (
        f"{region}{rng.randrange(1960, 2001)}{rng.randrange(1, 13):02d}"
        f"{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
    )
    total = sum(int(digit) * weight for digit, weight in zip(body, _WEIGHTS, strict=True))
    return body + _CHECK[total % 11]


def task_title(rng: Random, category: TaskCategory, unit_name: str) -> str:
    return rng.choice(TASK_TITLES[category]).format(unit=unit_name)
