"""The demo city: a Yiwu-like county-level city, its 14 towns and streets, and
their villages and communities. Pure data, no Django.

The towns and streets are Yiwu's; the communities and villages carry
believable local names but are not meant to be the real list. Codes follow
the statistical division codes: city ``330782``, town ``330782001``…,
community = town code + ``001``….
"""

from __future__ import annotations

CITY_CODE = "330782"
CITY_NAME = "义乌市"
CITY_NAME_EN = "Yiwu"

# (Chinese name, English name, (community Chinese name, English name), …)
# The first two communities of Choucheng and the first of Beiyuan match the
# test suite's fixtures (香溪, 江滨, 春华).
_TOWNS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("稠城街道", "Choucheng", (
        ("香溪社区", "Xiangxi"), ("江滨社区", "Jiangbin"), ("宗泽社区", "Zongze"), ("绣湖社区", "Xiuhu"),
        ("县前社区", "Xianqian"), ("朝阳社区", "Chaoyang"), ("通惠社区", "Tonghui"), ("下车门社区", "Xiachemen"),
        ("鸡鸣山社区", "Jimingshan"), ("官清社区", "Guanqing"), ("锦都社区", "Jindu"), ("稠州社区", "Chouzhou"),
    )),
    ("北苑街道", "Beiyuan", (
        ("春华社区", "Chunhua"), ("柳青社区", "Liuqing"), ("凌云社区", "Lingyun"), ("雪峰社区", "Xuefeng"),
        ("春晗社区", "Chunhan"), ("西城社区", "Xicheng"), ("大塘下村", "Datangxia"), ("楼西塘村", "Louxitang"),
        ("前洪村", "Qianhong"), ("丹晨社区", "Danchen"),
    )),
    ("江东街道", "Jiangdong", (
        ("青口社区", "Qingkou"), ("宗塘社区", "Zongtang"), ("樊村社区", "Fancun"), ("东洲社区", "Dongzhou"),
        ("下骆宅社区", "Xialuozhai"), ("金村社区", "Jincun"), ("鸿运社区", "Hongyun"), ("徐江社区", "Xujiang"),
        ("东新社区", "Dongxin"), ("联合社区", "Lianhe"),
    )),
    ("稠江街道", "Choujiang", (
        ("杨村社区", "Yangcun"), ("丹溪社区", "Danxi"), ("前成社区", "Qiancheng"), ("龙回社区", "Longhui"),
        ("经发社区", "Jingfa"), ("新屋社区", "Xinwu"), ("杨宅村", "Yangzhai"), ("稠江社区", "Choujiang"),
        ("高新社区", "Gaoxin"),
    )),
    ("福田街道", "Futian", (
        ("福田社区", "Futian"), ("银湾社区", "Yinwan"), ("五爱社区", "Wu'ai"), ("商城社区", "Shangcheng"),
        ("新光社区", "Xinguang"), ("金福社区", "Jinfu"), ("湖塘村", "Hutang"), ("杭畴村", "Hangchou"),
        ("福港社区", "Fugang"), ("宝鼎社区", "Baoding"),
    )),
    ("后宅街道", "Houzhai", (
        ("后宅社区", "Houzhai"), ("遗安社区", "Yi'an"), ("李祖村", "Lizu"), ("塘下洋村", "Tangxiayang"),
        ("端头村", "Duantou"), ("凤林村", "Fenglin"), ("马畈村", "Mafan"), ("洪华村", "Honghua"),
        ("岩口村", "Yankou"),
    )),
    ("城西街道", "Chengxi", (
        ("城西社区", "Chengxi"), ("七一村", "Qiyi"), ("夏演村", "Xiayan"), ("分水塘村", "Fenshuitang"),
        ("何店村", "Hedian"), ("长府村", "Changfu"), ("东河村", "Donghe"), ("下王村", "Xiawang"),
    )),
    ("廿三里街道", "Niansanli", (
        ("廿三里社区", "Niansanli"), ("何宅村", "Hezhai"), ("华溪社区", "Huaxi"), ("派塘村", "Paitang"),
        ("开元社区", "Kaiyuan"), ("王阡村", "Wangqian"), ("里良宅村", "Liliangzhai"), ("埠头村", "Butou"),
        ("王坑村", "Wangkeng"),
    )),
    ("义亭镇", "Yiting", (
        ("义亭社区", "Yiting"), ("缸窑村", "Gangyao"), ("西楼村", "Xilou"), ("陇头朱村", "Longtouzhu"),
        ("畈田朱村", "Fantianzhu"), ("新乐村", "Xinle"), ("先田村", "Xiantian"), ("铜溪村", "Tongxi"),
        ("姑塘村", "Gutang"),
    )),
    ("赤岸镇", "Chian", (
        ("赤岸社区", "Chi'an"), ("乔亭村", "Qiaoting"), ("雅治街村", "Yazhijie"), ("神坛村", "Shentan"),
        ("朱店村", "Zhudian"), ("尚阳村", "Shangyang"), ("毛店村", "Maodian"), ("东朱村", "Dongzhu"),
    )),
    ("佛堂镇", "Fotang", (
        ("佛堂社区", "Fotang"), ("龙溪社区", "Longxi"), ("浮桥头社区", "Fuqiaotou"), ("倍磊村", "Beilei"),
        ("田心村", "Tianxin"), ("蟠龙村", "Panlong"), ("坑口村", "Kengkou"), ("塘下村", "Tangxia"),
        ("王宅村", "Wangzhai"), ("新市村", "Xinshi"), ("稠关村", "Chouguan"),
    )),
    ("上溪镇", "Shangxi", (
        ("上溪社区", "Shangxi"), ("黄山村", "Huangshan"), ("溪华村", "Xihua"), ("李宅村", "Lizhai"),
        ("吴店村", "Wudian"), ("桥西村", "Qiaoxi"), ("余车村", "Yuche"),
    )),
    ("大陈镇", "Dachen", (
        ("大陈社区", "Dachen"), ("红峰村", "Hongfeng"), ("楂林村", "Chalin"), ("八里桥头村", "Baliqiaotou"),
        ("杜门村", "Dumen"), ("宦塘村", "Huantang"), ("燕里村", "Yanli"),
    )),
    ("苏溪镇", "Suxi", (
        ("苏溪社区", "Suxi"), ("苏福村", "Sufu"), ("殿下村", "Dianxia"), ("胡宅村", "Huzhai"),
        ("蒋母塘村", "Jiangmutang"), ("徐丰村", "Xufeng"), ("三联村", "Sanlian"), ("巧溪村", "Qiaoxi"),
    )),
)

# Relative population of each town: the central streets are the densest.
_TOWN_WEIGHTS = (16, 11, 10, 9, 9, 6, 5, 6, 6, 4, 7, 4, 3, 4)


def _build() -> tuple[dict, ...]:
    towns = []
    for t, ((name, name_en, communities), weight) in enumerate(zip(_TOWNS, _TOWN_WEIGHTS, strict=True), start=1):
        code = f"{CITY_CODE}{t:03d}"
        towns.append({
            "code": code,
            "name": name,
            "name_en": name_en,
            "weight": weight,
            "communities": tuple(
                {"code": f"{code}{c:03d}", "name": c_name, "name_en": c_en, "village": c_name.endswith("村")}
                for c, (c_name, c_en) in enumerate(communities, start=1)
            ),
        })
    return tuple(towns)


CITY = {"code": CITY_CODE, "name": CITY_NAME, "name_en": CITY_NAME_EN}
TOWNS: tuple[dict, ...] = _build()
TOWNS_BY_NAME_EN = {t["name_en"]: t for t in TOWNS}
COMMUNITIES_BY_CODE = {c["code"]: c for t in TOWNS for c in t["communities"]}
TOWN_OF_COMMUNITY = {c["code"]: t for t in TOWNS for c in t["communities"]}


def community_named(town_en: str, community_en: str) -> dict:
    """A community by its town's and its own English names (for the demo logins)."""
    for c in TOWNS_BY_NAME_EN[town_en]["communities"]:
        if c["name_en"] == community_en:
            return c
    raise KeyError(f"{town_en}/{community_en}")
