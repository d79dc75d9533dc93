"""Section `bundle`: the CartPole page built fresh into a temporary folder; raw and gzipped bytes per file."""

from __future__ import annotations

from bench.common import ENV_ID, Row, gz_size, skipped
from bench.context import Context
from bench.page import kb_label

S = "bundle"


def measure(ctx: Context) -> list[Row]:
    try:
        site = ctx.site
    except Exception as e:  # noqa: BLE001
        return [skipped(S, "page", str(e))]
    budget = ctx.site_budgets[ENV_ID]
    rows: list[Row] = []
    raw_total = gz_total = 0
    for f in sorted(p for p in site.rglob("*") if p.is_file()):
        data = f.read_bytes()
        raw, gz = len(data), gz_size(data)
        raw_total, gz_total = raw_total + raw, gz_total + gz
        rows.append(Row(S, str(f.relative_to(site)), gz, "B gz", extra={"raw": raw}, note=f"{raw:,} B raw"))
    rows.append(
        Row(
            S,
            "total (every file, lazy ones included)",
            gz_total,
            "B gz",
            ratio=gz_total / budget,
            ratio_to=f"{kb_label(budget)} budget",
            extra={"raw": raw_total},
            note=f"{raw_total:,} B raw; the budget (the build's, for the page) "
            "applies to what the page fetches before its first action: see section page",
        )
    )
    if "bundle_s" in ctx.facts:
        rows.append(Row(S, "bundle build time", ctx.facts["bundle_s"], "s"))
    return rows
