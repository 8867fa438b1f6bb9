#!/usr/bin/python3
"""Plots bench_forecast's per-lot CSV: forecast vs real completion, and the errors per noise level.

    /usr/bin/python3 bench/forecast/plot.py forecast.csv docs/img/forecast-accuracy.png
Needs Debian's python3-pandas and python3-matplotlib (scripts/setup installs them).
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def main(csv_path: str, png_path: str) -> None:
    d = pd.read_csv(csv_path)
    d["origin_h"] = d["origin_day"] * 24
    noises = sorted(d["noise"].unique())
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 5.2))

    # Left: forecast median remaining time to completion against the real one, with the 80 % interval.
    done = d.dropna(subset=["real_completion_h", "fc_p50_h"])
    lim = 0.0
    for n in noises:
        s = done[done["noise"] == n]
        real = (s["real_completion_h"] - s["origin_h"]) / 24
        p50 = (s["fc_p50_h"] - s["origin_h"]) / 24
        lo = (p50 - (s["fc_p10_h"] - s["origin_h"]) / 24).clip(lower=0)
        hi = ((s["fc_p90_h"] - s["origin_h"]) / 24 - p50).clip(lower=0)
        a.errorbar(real, p50, yerr=[lo, hi], fmt="o", ms=2.5, elinewidth=0.5, alpha=0.6,
                   label=f"noise {n:g} ({len(s)} lots)")
        lim = max(lim, real.max(), p50.max())
    a.plot([0, lim], [0, lim], "k--", lw=0.8, label="perfect")
    a.set_xlabel("real remaining time to completion (days)")
    a.set_ylabel("forecast median (days), bars: 80 % interval")
    a.set_title("Completion: forecast vs real")
    a.legend(fontsize=8)

    # Right: the scores per noise level.
    rows = []
    for n in noises:
        s = d[d["noise"] == n]
        c = s.dropna(subset=["real_completion_h", "fc_p50_h"])
        inside = ((c["real_completion_h"] >= c["fc_p10_h"]) &
                  ((c["real_completion_h"] <= c["fc_p90_h"]) | (c["fc_completed_fraction"] < 0.9)))
        rows.append({
            "noise": n,
            "step MAE +24 h": (s["fc_pos_24h"] - s["real_pos_24h"]).abs().mean(),
            "step MAE +7 d": (s["fc_pos_7d"] - s["real_pos_7d"]).abs().mean(),
            "completion MAE (h/10)": (c["fc_p50_h"] - c["real_completion_h"]).abs().mean() / 10,
            "in 80 % interval (%/10)": 10 * inside.mean(),
        })
    t = pd.DataFrame(rows).set_index("noise")
    t.plot.bar(ax=b, rot=0)
    b.set_xlabel("noise F (the fab deviates from its model by up to 1 + F)")
    b.set_title("Scores per noise level")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    print(t.to_string())


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot.py FORECAST.csv OUT.png")
    main(sys.argv[1], sys.argv[2])
