"""The demo's indicator catalogue, and observations over a county's units month by month.

The candidates are every (indicator, unit, period, dimension) the programme would report —
clean-up tonnage and participants per grid and month, fish fry per village, quarter and
species, closures and reforestation per township and year, forest cover for the county —
and an exact, evenly spread sample of them is written (selection sampling).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from random import Random
from typing import Final

import yaml

from bench.data_tables import INDICATOR, OBSERVATION, Rows
from bench.data_tree import County, Ids, Unit
from demo.loader import DEMO_DIR, INDICATORS_FILE
from models.enums import Aggregation

MONTHS: Final = tuple(date(2024 + m // 12, m % 12 + 1, 1) for m in range(24))
QUARTERS: Final = MONTHS[::3]
YEARS: Final = (date(2024, 1, 1), date(2025, 1, 1))
FOUR_PLACES: Final = Decimal("0.0001")
TOWNSHIP_YEARLY: Final = {  # code: the yearly range per township
    "hydropower_removed": (0, 3),
    "coal_mines_closed": (0, 3),
    "gravel_pits_closed": (0, 6),
    "reforested_mu": (500, 6000),
    "erosion_treated_mu": (800, 9000),
}

Candidate = tuple[str, Unit, date, str]


class Catalogue:
    """The demo's indicators (``demo/data/indicators.yaml``) with ids, and its fish species.

    Only that file is read: the demo loader checks the whole demo, which takes longer than
    building a small dataset.
    """

    def __init__(self) -> None:
        content = yaml.safe_load((DEMO_DIR / INDICATORS_FILE).read_text(encoding="utf-8"))
        self.indicators: list[dict[str, str]] = content["indicators"]
        self.ids = {spec["code"]: n for n, spec in enumerate(self.indicators, start=1)}
        fish = content["observations"]["fish_fry_released"]
        self.species = sorted({str(row["dimension"]) for row in fish})

    def write(self, rows: Rows) -> None:
        for spec in self.indicators:
            rows.add(
                INDICATOR,
                (
                    self.ids[spec["code"]],
                    spec["code"],
                    spec["name"],
                    spec["unit"],
                    Aggregation(spec.get("aggregation", Aggregation.SUM)).value,
                    spec.get("dimension_name", ""),
                ),
            )


def candidates(county: County, catalogue: Catalogue) -> Iterator[Candidate]:
    for year in YEARS:
        yield ("forest_cover_pct", county.unit, year, "")
    for township in county.townships:
        for code in TOWNSHIP_YEARLY:
            for year in YEARS:
                yield (code, township, year, "")
    for village in county.villages:
        for quarter in QUARTERS:
            for species in catalogue.species:
                yield ("fish_fry_released", village, quarter, species)
    for grid in county.grids:
        for month in MONTHS:
            yield ("garbage_cleared_t", grid, month, "")
            yield ("participants", grid, month, "")


def candidate_count(county: County, catalogue: Catalogue) -> int:
    return (
        len(YEARS) * (1 + len(county.townships) * len(TOWNSHIP_YEARLY))
        + len(county.villages) * len(QUARTERS) * len(catalogue.species)
        + len(county.grids) * len(MONTHS) * 2
    )


def write_observations(
    rng: Random, county: County, catalogue: Catalogue, ids: Ids, rows: Rows, wanted: int
) -> int:
    """Write ``wanted`` observations (at most every candidate), evenly over the candidates."""
    left_over = candidate_count(county, catalogue)
    wanted = min(wanted, left_over)
    written = 0
    for code, unit, period, dimension in candidates(county, catalogue):
        if rng.random() * left_over < wanted - written:
            rows.add(
                OBSERVATION,
                (
                    ids.take("observation"),
                    catalogue.ids[code],
                    unit.id,
                    period,
                    dimension,
                    _value(rng, code, period),
                ),
            )
            written += 1
        left_over -= 1
    return written


def _value(rng: Random, code: str, period: date) -> Decimal:
    if code == "forest_cover_pct":
        raw = Decimal(rng.randrange(4200, 4800) + 150 * (period.year - 2024)).scaleb(-2)
    elif code == "garbage_cleared_t":
        raw = Decimal(rng.randrange(50, 2500)).scaleb(-3)
    elif code == "participants":
        raw = Decimal(rng.randrange(3, 60))
    elif code == "fish_fry_released":
        raw = Decimal(rng.randrange(200, 6000))
    else:
        low, high = TOWNSHIP_YEARLY[code]
        raw = Decimal(rng.randrange(low, high + 1))
    return raw.quantize(FOUR_PLACES)
