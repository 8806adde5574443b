"""Where the cost-attribution training data comes from, and the licensed copies committed to the repo.

Contract:
* ``COMMITTED`` (``samples/training/``) holds only what may be redistributed: the official tax classification
  code table (compact form), MIT-licensed hotel/restaurant names, an Apache-2.0 sample of company brand words, and
  our own curated lists. ``load_committed()`` reads them; it never touches the network.
* ``load_shared_extras(shared)`` reads the optional, unlicensed extras from ``../shared/data/classifier`` when the
  folder is present (courier brands). They are used at ``make train`` time only and never copied into the repo.
* ``refresh_licensed_copies(shared, out)`` regenerates the licensed copies from ``../shared`` (run by hand with
  ``python -m models.sources``); ``samples/training/PROVENANCE.md`` says what each file is.
"""

from __future__ import annotations

import csv
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
COMMITTED = REPO_ROOT / "samples" / "training"
DEFAULT_SHARED = REPO_ROOT.parent / "shared"
CLASSIFIER_DIR = Path("data") / "classifier"

# Characters that would leak a sector into a "neutral" brand word (酒店, 餐饮, 快递 ...): such words are dropped.
_BRAND_WORD_STOP = set("酒店餐饭食宿旅油车航铁路递邮移电信云软件培训教育学会议展广告传媒物业停医药保险银行租房")
BRAND_WORD_SAMPLE = 6000
BRAND_WORD_SEED = 20240601


@dataclass(frozen=True)
class TaxCode:
    code: str
    name_2017: str
    short_2017: str
    name_2026: str
    short_2026: str
    leaf: bool


@dataclass
class Sources:
    """Everything the dataset builder reads. ``names`` records which inputs were present (for the model card)."""

    tax_codes: list[TaxCode]
    code_categories: list[dict[str, str]]
    items: dict
    sellers: dict
    hotels: list[dict[str, str]]
    restaurants: list[dict[str, str]]
    brand_words: list[str]
    courier_brands: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_committed(root: Path = COMMITTED) -> Sources:
    tax = [TaxCode(r["code"], r["name_2017"], r["short_2017"], r["name_2026"], r["short_2026"], r["leaf"] == "1")
           for r in _read_csv(root / "tax_codes.csv")]
    return Sources(
        tax_codes=tax,
        code_categories=_read_csv(root / "code_categories.csv"),
        items=yaml.safe_load((root / "items_curated.yaml").read_text(encoding="utf-8")),
        sellers=yaml.safe_load((root / "sellers_curated.yaml").read_text(encoding="utf-8")),
        hotels=_read_csv(root / "hotels_mit.csv"),
        restaurants=_read_csv(root / "restaurants_mit.csv"),
        brand_words=[w for w in (root / "brand_words_apache.txt").read_text(encoding="utf-8").split() if w],
        names=["samples/training (tax codes, curated lists, MIT hotel/restaurant names, Apache brand words)"],
    )


def load_shared_extras(sources: Sources, shared: Path | None) -> Sources:
    """Add the unlicensed extras from ``shared`` when present (courier brands); return ``sources``."""
    if shared is None:
        return sources
    express = shared / CLASSIFIER_DIR / "sellers" / "express_companies_kdniao.csv"
    if express.is_file():
        brands = []
        for row in _read_csv(express):
            name = re.sub(r"(快递|速递|快运|物流|速运|国际|集团|有限公司|\(.*?\)|（.*?）)", "", row["express_name"]).strip()
            if 2 <= len(name) <= 6 and re.fullmatch(r"[\u4e00-\u9fff]+", name):
                brands.append(name)
        sources.courier_brands = sorted(set(brands))
        sources.names.append("../shared express_companies_kdniao.csv (no licence: build-time only)")
    return sources


def load_sources(shared: Path | None = DEFAULT_SHARED) -> Sources:
    return load_shared_extras(load_committed(), shared if shared is not None and shared.is_dir() else None)


# ---------------------------------------------------------------- refreshing the licensed copies (run by hand)

_CITY_KEYS = {"beijing": "北京", "shanghai": "上海", "guangzhou": "广州", "shenzhen": "深圳", "chengdu": "成都",
              "chongqing": "重庆", "hangzhou": "杭州", "nanjing": "南京", "suzhou": "苏州", "wuhan": "武汉"}


def _hotel_rows(src: Path) -> list[dict[str, str]]:
    return [{"city": r["city"], "hotel_name": r["hotel_name"], "room": r["min_price_room"]} for r in _read_csv(src)]


def _restaurant_rows(src: Path) -> list[dict[str, str]]:
    return [{"city": _CITY_KEYS.get(r["city_key"], ""), "restaurant_name": r["restaurant_name"],
             "cuisine": r["cuisine"], "dishes": r["recommended_food"]} for r in _read_csv(src)]


def _brand_words(src: Path) -> list[str]:
    words = {w.strip() for w in src.read_text(encoding="utf-8").splitlines()}
    words = sorted(w for w in words if re.fullmatch(r"[\u4e00-\u9fff]{2,3}", w) and not set(w) & _BRAND_WORD_STOP)
    return sorted(random.Random(BRAND_WORD_SEED).sample(words, BRAND_WORD_SAMPLE))


def _tax_rows(folder: Path) -> list[dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for r in _read_csv(folder / "tax_codes_2017.csv"):
        merged[r["code"]] = {"code": r["code"], "name_2017": r["name"], "short_2017": r["short_name"],
                             "name_2026": "", "short_2026": "", "leaf": "1" if r["is_leaf"] == "True" else "0"}
    for r in _read_csv(folder / "tax_codes_2026_services_2to6.csv"):
        row = merged.setdefault(r["code"], {"code": r["code"], "name_2017": "", "short_2017": "", "leaf": "0"})
        row.update(name_2026=r["name"], short_2026=r["short_name"])
        if r["is_summary"] == "False":
            row["leaf"] = "1"
    return [merged[c] for c in sorted(merged)]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def refresh_licensed_copies(shared: Path = DEFAULT_SHARED, out: Path = COMMITTED) -> None:
    folder = shared / CLASSIFIER_DIR
    _write_csv(out / "tax_codes.csv", _tax_rows(folder))
    _write_csv(out / "hotels_mit.csv", _hotel_rows(folder / "sellers" / "hotels_ctrip_10cities.csv"))
    _write_csv(out / "restaurants_mit.csv", _restaurant_rows(folder / "sellers" / "restaurants_10cities.csv"))
    words = _brand_words(folder / "sellers" / "company_short_forms_28w.txt")
    (out / "brand_words_apache.txt").write_text("\n".join(words) + "\n", encoding="utf-8")


if __name__ == "__main__":
    refresh_licensed_copies(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SHARED)
