#!/usr/bin/python3
"""A yield report from a live twin: yield by tool and by day, the commonality table, a chart.

    PYTHONPATH=build/python /usr/bin/python3 clients/python/examples/yield_report.py \
        --target 127.0.0.1:50051 [--token T] [--tls-ca ca.pem] --out report/

Writes to --out:
  yield_by_tool.csv   tool, lots, wafers, dies, pass, die_yield, mean_wafer_yield, wafer_yield_sd
  yield_by_day.csv    day, lots, wafers, dies, pass, die_yield, mean_wafer_yield, wafer_yield_sd
  commonality.csv     level, route, step, tool, tool_group, lots, lots_in, yield_in, yield_out,
                      effect, statistic, df1, df2, p, p_adjusted, significant
  yield_report.png    die yield per day, and the ten tools of lowest yield
and prints the top suspects of the commonality analysis. Exit code 1 when the server cannot be
reached or refuses a call (the message names the rpc and the status).
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fabtwin_client import Client, FabtwinError  # noqa: E402

COLUMNS = ["lots", "wafers", "dies", "pass", "die_yield", "mean_wafer_yield", "wafer_yield_sd"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", default="127.0.0.1:50051")
    ap.add_argument("--token")
    ap.add_argument("--tls-ca")
    ap.add_argument("--product", help="only this product's lots")
    ap.add_argument("--top", type=int, default=5, help="suspects to print")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with Client(a.target, token=a.token, tls_ca=a.tls_ca) as c:
        try:
            by_tool = c.yield_summary(by="tool", product=a.product)
            by_day = c.yield_summary(by="day", product=a.product)
            com = c.commonality(product=a.product)
        except FabtwinError as e:
            print(f"yield_report: {e}", file=sys.stderr)
            return 1
    if by_tool.empty:
        print("yield_report: the twin has no yield records yet (no lot completed)", file=sys.stderr)
        return 1
    by_tool[["tool"] + COLUMNS].to_csv(os.path.join(a.out, "yield_by_tool.csv"), index=False)
    by_day[["day"] + COLUMNS].to_csv(os.path.join(a.out, "yield_by_day.csv"), index=False)
    com.to_csv(os.path.join(a.out, "commonality.csv"), index=False)

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.plot(by_day["day"], 100 * by_day["die_yield"], marker="o", ms=3)
    left.set_xlabel("model day")
    left.set_ylabel("die yield (%)")
    left.set_title(f"Die yield per day ({int(by_day['wafers'].sum())} wafers)")
    worst = by_tool.nsmallest(10, "die_yield")
    right.barh(worst["tool"], 100 * worst["die_yield"])
    right.invert_yaxis()
    right.set_xlabel("die yield (%)")
    right.set_title("Ten tools of lowest yield")
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "yield_report.png"), dpi=100)

    print(f"{com.attrs['lots']} lots, {com.attrs['wafers']} wafers; tests per level: {com.attrs['tests']}")
    print(f"top {a.top} suspects (Holm-adjusted p):")
    for _, r in com.head(a.top).iterrows():
        where = f"{r['route']} step {r['step']} " if r["level"] == "step_tool" else ""
        print(f"  {r['level']:<10} {where}{r['tool']:<24} effect {100 * r['effect']:+.2f} pts  "
              f"p_adj {r['p_adjusted']:.3g}{'  significant' if r['significant'] else ''}")
    print(f"wrote {a.out}/yield_by_tool.csv, yield_by_day.csv, commonality.csv, yield_report.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
