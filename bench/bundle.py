"""Section `bundle`: the CartPole page built fresh into a temporary folder; raw and gzipped bytes per file."""

from __future__ import annotations

from bench.common import Row, gz_size, skipped
from bench.context import Context

S = "bundle"
BUDGET = 32 * 1024  # the page budget: bytes fetched until the first agent action, gzipped


def measure(ctx: Context) -> list[Row]:
    try:
        site = ctx.site
    except Exception as e:  # noqa: BLE001
        return [skipped(S, "page", str(e))]
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
            ratio=gz_total / BUDGET,
            ratio_to="32 KB budget",
            extra={"raw": raw_total},
            note=f"{raw_total:,} B raw; the budget "
            "applies to what the page fetches before its first action: see section page",
        )
    )
    if "bundle_s" in ctx.facts:
        rows.append(Row(S, "bundle build time", ctx.facts["bundle_s"], "s"))
    return rows
