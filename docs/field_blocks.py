"""The shipped `field` run as documentation: each victim's attacks x defenses table.

Written from the Parquet file of its published site (`bench publish --spec field --out
docs/field-site`) by the same function the site and `bench results --layout defenses` use, so
the docs, the site and the terminal show one table.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from leaderboard.defense_table import DefenseTable, defense_tables, to_markdown

DATA = Path(__file__).resolve().parent / "field-site" / "data"


@cache
def field_tables(data: Path = DATA) -> tuple[DefenseTable, ...]:
    cells = pd.read_parquet(data / "cells.parquet")
    return tuple(defense_tables(cells.to_dict("records")))


def field_table() -> str:
    """Every victim's table under a line naming it."""
    return "\n\n".join(f"**{t.title}**\n\n{to_markdown(t)}" for t in field_tables())
