"""Labelled invoice lines for the cost-attribution model, built reproducibly from ``models.sources``.

Contract:
* ``build_dataset(sources, scale=1.0) -> Dataset``: the same sources and scale always give the same rows in the
  same order and the same ``data_hash`` (fixed seed, no wall clock, no set-order dependence).
* A row is one invoice as the classifier sees it: ``seller_name``, item texts (``*简称*名称`` or a bare name),
  invoice ``kind``, ``amount`` (Decimal) and the expense-category ``label`` (a ``models/taxonomy.yaml`` code).
* The split is seller- and item-disjoint: every item name and every seller *entity* (hotel, restaurant, brand
  word, person, brand) is assigned to ``train`` or ``eval`` by a seeded hash, and rows of one split are composed
  only from that split's items and sellers. No seller string and no item name occurs in both splits.
* Item names come from the official tax code tables (2017 and 2026 简称 wording), our curated item lists, hotel
  room names and restaurant dishes; sellers from curated lists and templates (see ``samples/training``).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from models.features import normalize, parse_item
from models.sources import Sources

SEED = 20250611
EVAL_PERCENT = 20
ROWS_PER_CLASS = 1800  # train rows per category at scale 1.0; eval gets EVAL_PERCENT/(100-EVAL_PERCENT) of that
OTHER_ROWS_FACTOR = 1.5  # "other" spans thousands of tax codes: give it more rows

# Share of a category's lines drawn from each item source (when the category has items from it).
SOURCE_WEIGHTS = {"curated": 6.0, "taxcode": 2.0, "mit": 2.0}
P_BARE = 0.12  # the line prints no *简称*
P_NO_ASTERISKS = 0.06  # OCR dropped the asterisks: "餐饮服务餐费"
P_SPACE = 0.05  # a stray space inside the name
P_TRUNCATE = 0.03  # last character lost
P_EXTRA_ITEMS = 0.12  # 2-3 lines of the same category
P_HOTEL_MEAL = 0.12  # a hotel bill with a meal line (label stays travel.lodging, DOMAIN §7)
P_ITEMS_MISSING = 0.03  # the extractor read no item line: seller, kind and amount only
P_SELLER_MISSING = 0.04
P_SELLER_TRUNCATED = 0.04
P_AMOUNT_MISSING = 0.04

_CJK_NUMERALS = "一二三四五六七八九"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Row:
    seller_name: str | None
    items: tuple[str, ...]
    kind: str | None
    amount: Decimal | None
    label: str
    split: str  # "train" | "eval"

    def to_json(self) -> dict:
        return {"seller_name": self.seller_name, "items": list(self.items), "kind": self.kind,
                "amount": None if self.amount is None else str(self.amount), "label": self.label,
                "split": self.split}


@dataclass(frozen=True)
class ItemName:
    """A free-text item name and the *简称* it may print under."""

    name: str
    jcs: tuple[str, ...]
    category: str
    sectors: tuple[str, ...]  # empty: any sector that issues the category
    source: str  # "curated" | "taxcode" | "mit"


@dataclass(frozen=True)
class Seller:
    name: str
    sector: str
    entity: str  # the split key: the hotel/restaurant/word/person/brand behind the name


@dataclass
class Dataset:
    rows: list[Row]
    data_hash: str
    sources: list[str]
    stats: dict = field(default_factory=dict)

    def split(self, name: str) -> list[Row]:
        return [r for r in self.rows if r.split == name]


def split_of(namespace: str, key: str) -> str:
    digest = hashlib.sha256(f"{SEED}:{namespace}:{key}".encode()).digest()
    return "eval" if int.from_bytes(digest[:4], "big") % 100 < EVAL_PERCENT else "train"


# ------------------------------------------------------------------------------------------------ items

def _code_rules(sources: Sources) -> dict[str, list[dict[str, str]]]:
    by_prefix: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in sources.code_categories:
        by_prefix[r["prefix"]].append(r)
    return by_prefix


def category_of_code(code: str, names: list[str], rules: dict[str, list[dict[str, str]]]) -> tuple[str, dict]:
    """Longest-prefix match in code_categories.csv (a row with ``name_regex`` applies only when it matches)."""
    for n in range(len(code), 0, -1):
        for rule in rules.get(code[:n], []):
            if not rule["name_regex"] or any(re.search(rule["name_regex"], nm) for nm in names):
                return rule["category"], rule
    return "other", {}


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split("|") if v) if value else ()


def _taxcode_items(sources: Sources) -> list[ItemName]:
    rules = _code_rules(sources)
    out = []
    for tc in sources.tax_codes:
        if not tc.leaf:
            continue
        names = [n for n in dict.fromkeys([tc.name_2017, tc.name_2026]) if n]
        category, rule = category_of_code(tc.code, names, rules)
        jcs = tuple(dict.fromkeys(j for j in (tc.short_2017, tc.short_2026, *_split_list(rule.get("jc_extra", "")))
                                  if j))
        sectors = _split_list(rule.get("sectors", ""))
        out.extend(ItemName(n, jcs, category, sectors, "taxcode") for n in names)
    return out


def _curated_items(sources: Sources) -> list[ItemName]:
    out = []
    for category, groups in sources.items["categories"].items():
        for g in groups:
            names = [str(n) for n in g.get("names", [])]
            if "compose" in g:
                names += [p + s for p in g["compose"]["prefixes"] for s in g["compose"]["stems"]]
            out.extend(ItemName(n, tuple(g["jc"]), category, tuple(g.get("sectors") or ()), "curated")
                       for n in names)
    return out


def _clean_room(room: str) -> str:
    room = re.split(r"[（(|｜]", room)[0].strip()
    return room if 2 <= len(room) <= 12 else ""


def _mit_items(sources: Sources) -> list[ItemName]:
    lodging_jcs = ("住宿服务", "生产生活服务", "生活服务")
    meal_jcs = ("餐饮服务", "生产生活服务", "生活服务")
    rooms = sorted({r for r in (_clean_room(h["room"]) for h in sources.hotels) if r})
    dishes = sorted({d.strip() for r in sources.restaurants for d in r["dishes"].split(",")
                     if 2 <= len(d.strip()) <= 12})
    return ([ItemName(r, lodging_jcs, "travel.lodging", ("hotel",), "mit") for r in rooms]
            + [ItemName(d, meal_jcs, "entertainment", ("restaurant", "hotel"), "mit") for d in dishes])


def item_pool(sources: Sources) -> tuple[list[ItemName], list[str]]:
    """All item names, minus names that two categories claim (returned second, for the stats)."""
    items = _curated_items(sources) + _taxcode_items(sources) + _mit_items(sources)
    cats: dict[str, set[str]] = defaultdict(set)
    for it in items:
        cats[it.name].add(it.category)
    ambiguous = sorted(n for n, c in cats.items() if len(c) > 1)
    seen: set[tuple[str, str]] = set()
    unique = []
    for it in items:
        if it.name in ambiguous or (it.name, it.category) in seen:
            continue
        seen.add((it.name, it.category))
        unique.append(it)
    return unique, ambiguous


# ------------------------------------------------------------------------------------------------ sellers

def _core(name: str, suffixes: str) -> str:
    name = re.split(r"[(（·\-]", name)[0]
    name = re.sub(r"[A-Za-z'’&\s]+", "", name)
    return re.sub(f"({suffixes})$", "", name)


def _hotel_fillers(sources: Sources) -> list[dict[str, str]]:
    out = []
    for h in sources.hotels:
        core = _core(h["hotel_name"], "大酒店|酒店|宾馆|饭店|公寓|民宿|客栈|度假村|会议中心")
        core = core.removeprefix(h["city"])
        store = re.sub(r"\s+", "", h["hotel_name"])
        if 2 <= len(core) <= 10:
            out.append({"hotel_core": core, "hotel_store": store, "city": h["city"]})
    return out


def _restaurant_fillers(sources: Sources) -> list[dict[str, str]]:
    out = []
    for r in sources.restaurants:
        core = _core(r["restaurant_name"], "餐厅|饭店|酒楼|食府|小馆|餐馆")
        if r["city"] and 2 <= len(core) <= 10:
            out.append({"rest_core": core, "city": r["city"]})
    return out


def _person(rng: random.Random, cfg: dict) -> str:
    return rng.choice(cfg["surnames"]) + "".join(rng.choice(cfg["given_chars"]) for _ in range(rng.choice((1, 2))))


_ENTITY_KEYS = ("hotel_core", "rest_core", "word", "person", "brand")


def _compose(template: str, rng: random.Random, cfg: dict, sector: dict, sources: Sources,
             fillers: dict[str, list[dict[str, str]]]) -> tuple[str, str]:
    keys = _PLACEHOLDER.findall(template)
    values: dict[str, str] = {}
    if "hotel_core" in keys or "hotel_store" in keys:
        values.update(rng.choice(fillers["hotel"]))
    if "rest_core" in keys:
        values.update(rng.choice(fillers["restaurant"]))
    for k in keys:
        if k in values:
            continue
        if k in ("city", "province", "district"):
            values[k] = rng.choice(cfg[k + "s"] if k != "city" else cfg["cities"])
        elif k == "word":
            values[k] = rng.choice(sources.brand_words)
        elif k == "brand":
            brands = sector.get("brands") or []
            if sector.get("use_courier_brands"):
                brands = sorted(set(brands) | set(sources.courier_brands))
            values[k] = rng.choice(brands)
        elif k == "person":
            values[k] = _person(rng, cfg)
        elif k == "n":
            values[k] = rng.choice(_CJK_NUMERALS)
        else:
            raise KeyError(f"unknown placeholder {{{k}}} in seller template {template!r}")
    name = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    entity = next((f"{k}={values[k]}" for k in _ENTITY_KEYS if k in values), name)
    return name, entity


def seller_pool(sources: Sources, scale: float = 1.0) -> list[Seller]:
    cfg = sources.sellers
    fillers = {"hotel": _hotel_fillers(sources), "restaurant": _restaurant_fillers(sources)}
    rng = random.Random(SEED + 1)
    out: list[Seller] = []
    for sector_name in sorted(cfg["sectors"]):
        sector = dict(cfg["sectors"][sector_name])
        sector["use_courier_brands"] = sector_name == "courier"
        names: dict[str, str] = {n: n for n in sector.get("names", [])}
        target = len(names) + max(4, int(sector.get("count", 100) * min(1.0, scale)))
        templates = sector.get("templates", [])
        attempts = 0
        while templates and len(names) < target and attempts < 30 * target:
            attempts += 1
            name, entity = _compose(rng.choice(templates), rng, cfg, sector, sources, fillers)
            names.setdefault(name, entity)
        out.extend(Seller(n, sector_name, e) for n, e in names.items())
    return out


# ------------------------------------------------------------------------------------------------ rows

def _weighted(rng: random.Random, weights: dict) -> object:
    keys = list(weights)
    return rng.choices(keys, weights=[float(weights[k]) for k in keys])[0]


def _render_item(rng: random.Random, item: ItemName) -> str:
    name = item.name
    if len(name) > 3 and rng.random() < P_TRUNCATE:
        name = name[:-1]
    if len(name) > 2 and rng.random() < P_SPACE:
        cut = rng.randrange(1, len(name))
        name = name[:cut] + " " + name[cut:]
    if not item.jcs or rng.random() < P_BARE:
        return name
    jc = rng.choice(item.jcs)
    if rng.random() < P_NO_ASTERISKS:
        return jc + rng.choice(("", " ")) + name
    return f"*{jc}*{name}"


def _render_seller(rng: random.Random, seller: Seller) -> str | None:
    r = rng.random()
    if r < P_SELLER_MISSING:
        return None
    if r < P_SELLER_MISSING + P_SELLER_TRUNCATED and len(seller.name) > 8:
        return seller.name[: -rng.randint(2, 4)]
    return seller.name


def _amount(rng: random.Random, lo: float, hi: float) -> Decimal | None:
    if rng.random() < P_AMOUNT_MISSING:
        return None
    # The RNG draws a float; the money value is then fixed as a 2-dp Decimal.
    value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    return Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class _Generator:
    def __init__(self, sources: Sources, items: list[ItemName], sellers: list[Seller], split: str):
        self.cfg = sources.sellers
        self.amounts = sources.items["amounts"]
        self.issuers: dict[str, dict[str, float]] = defaultdict(dict)  # category -> sector -> weight
        for name, sector in self.cfg["sectors"].items():
            for cat, w in sector["issues"].items():
                self.issuers[cat][name] = float(w)
        self.items: dict[str, dict[str, list[ItemName]]] = defaultdict(lambda: defaultdict(list))
        for it in items:
            if split_of("item", it.name) == split:
                self.items[it.category][it.source].append(it)
        self.sellers: dict[str, list[Seller]] = defaultdict(list)
        for s in sellers:
            if split_of("seller", s.entity) == split:
                self.sellers[s.sector].append(s)
        self.split = split

    def _pick_item(self, rng: random.Random, category: str) -> ItemName:
        by_source = self.items[category]
        source = _weighted(rng, {s: w for s, w in SOURCE_WEIGHTS.items() if by_source.get(s)})
        return rng.choice(by_source[source])

    def _pick_sector(self, rng: random.Random, category: str, item: ItemName) -> str:
        issuers = {s: w for s, w in self.issuers[category].items() if self.sellers.get(s)}
        allowed = {s: w for s, w in issuers.items() if s in item.sectors} if item.sectors else {}
        return str(_weighted(rng, allowed or issuers))

    def row(self, rng: random.Random, category: str) -> Row:
        item = self._pick_item(rng, category)
        sector = self._pick_sector(rng, category, item)
        seller = rng.choice(self.sellers[sector])
        lines = [_render_item(rng, item)]
        if rng.random() < P_EXTRA_ITEMS:
            for _ in range(rng.randint(1, 2)):
                extra = self._pick_item(rng, category)
                if not extra.sectors or sector in extra.sectors:
                    lines.append(_render_item(rng, extra))
        if sector == "hotel" and category == "travel.lodging" and rng.random() < P_HOTEL_MEAL:
            meal = self._pick_item(rng, "entertainment")
            if "hotel" in meal.sectors:
                lines.append(_render_item(rng, meal))
        seller_name = _render_seller(rng, seller)
        if seller_name and rng.random() < P_ITEMS_MISSING:
            lines = []
        kinds = self.cfg["sectors"][sector].get("kinds") or self.cfg["default_kinds"]
        kind = _weighted(rng, {("" if k is None or k == "null" else k): w for k, w in kinds.items()})
        lo, hi = self.amounts[category]
        return Row(seller_name, tuple(lines), kind or None, _amount(rng, lo, hi), category, self.split)


def _hash_rows(rows: list[Row]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps(r.to_json(), ensure_ascii=False, sort_keys=True).encode())
        h.update(b"\n")
    return h.hexdigest()


def trained_categories(sources: Sources) -> list[str]:
    return sorted(sources.items["amounts"])


def build_dataset(sources: Sources, scale: float = 1.0) -> Dataset:
    items, ambiguous = item_pool(sources)
    sellers = seller_pool(sources, scale)
    rows: list[Row] = []
    per_class_train = max(10, int(ROWS_PER_CLASS * scale))
    for split in ("train", "eval"):
        gen = _Generator(sources, items, sellers, split)
        rng = random.Random(f"{SEED}:{split}")
        base = per_class_train if split == "train" else max(5, per_class_train * EVAL_PERCENT // (100 - EVAL_PERCENT))
        for category in trained_categories(sources):
            n = int(base * OTHER_ROWS_FACTOR) if category == "other" else base
            rows.extend(gen.row(rng, category) for _ in range(n))
    # Noise (a truncated seller or item name) can turn a training string into a held-out one: drop such eval rows.
    train_sellers = {normalize(r.seller_name) for r in rows if r.split == "train" and r.seller_name}
    train_names = {parse_item(i)[1] for r in rows if r.split == "train" for i in r.items}
    rows = [r for r in rows if r.split == "train" or (normalize(r.seller_name) not in train_sellers
                                                      and not any(parse_item(i)[1] in train_names for i in r.items))]
    stats = {
        "items": len(items), "ambiguous_item_names_dropped": len(ambiguous), "sellers": len(sellers),
        "rows": {s: sum(r.split == s for r in rows) for s in ("train", "eval")},
        "item_sources": {s: sum(i.source == s for i in items) for s in SOURCE_WEIGHTS},
    }
    return Dataset(rows, _hash_rows(rows), list(sources.names), stats)


if __name__ == "__main__":
    from models.sources import load_sources

    ds = build_dataset(load_sources())
    print(json.dumps({"data_hash": ds.data_hash, "sources": ds.sources, **ds.stats}, ensure_ascii=False, indent=1))
    rng = random.Random(0)
    for r in rng.sample(ds.rows, 40):
        print(r.split, r.label, "|", r.seller_name, "|", " ; ".join(r.items), "|", r.kind, r.amount)
