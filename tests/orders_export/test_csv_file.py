"""The export's CSV writer: formulas neutralised, atomic, old days removed."""

from __future__ import annotations

import csv
from datetime import date

from orders_export.csv_file import remove_old, write_export


def test_cells_a_spreadsheet_would_run_get_an_apostrophe_and_the_file_is_complete(tmp_path):
    rows = [("O-1", "=HYPERLINK(\"http://evil\")", "12.00"), ("O-2", "-2+3", "1.00"), ("O-3", None, "0.50")]
    assert write_export(tmp_path, "orders.csv", ("order_id", "customer", "amount"), rows) == 3
    read = list(csv.reader((tmp_path / "orders.csv").read_text().splitlines()))
    assert read == [["order_id", "customer", "amount"], ["O-1", "'=HYPERLINK(\"http://evil\")", "12.00"],
                    ["O-2", "'-2+3", "1.00"], ["O-3", "", "0.50"]]
    assert [p.name for p in tmp_path.iterdir()] == ["orders.csv"]  # no temporary file left behind


def test_exports_older_than_thirty_days_are_removed(tmp_path):
    for name in ("orders-2026-01-01.csv", "orders-2026-02-01.csv", "orders-latest.csv", "orders-junk.csv"):
        (tmp_path / name).write_text("x")
    assert remove_old(tmp_path, "orders", date(2026, 2, 15)) == ["orders-2026-01-01.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders-2026-02-01.csv", "orders-junk.csv",
                                                          "orders-latest.csv"]
