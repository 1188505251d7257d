"""Seasonal forecast benchmark (issue 19): the whole engine vs a loop over statsmodels.

    .venv/bin/python bench/forecast.py [--locations 10000] [--steps 120] [--sample 200]

A cube of ``--locations`` × ``--steps`` monthly counts: 60 % cells with a planted seasonal peak
and a trend, 20 % pure Poisson noise, 20 % sparse cells (mean < 1). The engine run
(geomon.spatial.forecast.forecast_cube: profiles, model choice, backtests, forecasts,
intervals, outliers) is timed on the whole cube.

The baseline does the same work per location with statsmodels, in a plain Python loop, on a
random sample of ``--sample`` locations (a full loop would take about an hour), and the time is
extrapolated linearly to all locations — the loop is per location, so linear is exact up to
noise. Per dense location: ExponentialSmoothing fitted for each of the six configurations on
the training steps (multiplicative only for series without zeros; the same known initial
states as ours), the best by AICc, one fixed-parameter pass over all steps for the backtest, a
refit on all steps and the forecast; per sparse location two statsmodels GLM(Poisson) fits.
"Equal results" is checked on the sample: the share of locations where both choose the same
model, and the median forecast difference relative to the series mean.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def make_cube(n: int, T: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    kind = rng.choice(3, n, p=[0.6, 0.2, 0.2])
    peak = rng.integers(0, 12, n)
    base = np.where(kind == 2, rng.uniform(0.2, 1.0, n), rng.uniform(3, 20, n))
    d = (t[None, :] % 12 - peak[:, None] + 6) % 12 - 6
    season = np.where(kind[:, None] == 1, 1.0, 1 + 2.5 * np.exp(-0.5 * d**2))
    trend = 1 + rng.uniform(-0.002, 0.004, n)[:, None] * t[None, :]
    return rng.poisson(base[:, None] * season * trend).astype(float)


def statsmodels_location(y: np.ndarray, p, sparse: bool):
    import statsmodels.api as sm
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    from geomon.spatial import countmodel as cm
    from geomon.spatial import holtwinters as hw

    m, N = p.season, p.backtest_steps
    T = len(y)
    train = y[: T - N]
    if sparse:
        t = np.arange(T, dtype=float)
        X = cm.design(t, t.astype(int) % m, m, float(T))
        sm.GLM(train, X[: T - N], family=sm.families.Poisson()).fit()
        g = sm.GLM(y, X, family=sm.families.Poisson()).fit()
        return "GLM", None, g
    best = None
    for cfg in hw.CONFIGS:
        if cfg.seasonal == "mul" and (y <= 0).any():
            continue
        l0, b0, s0 = hw.initial_states(train[None], m, cfg)
        kw = dict(
            trend="add" if cfg.trend else None,
            damped_trend=cfg.damped,
            seasonal=cfg.seasonal,
            seasonal_periods=m,
            initialization_method="known",
            initial_level=l0[0],
            initial_trend=b0[0] if cfg.trend else None,
            initial_seasonal=s0[0],
        )
        r = ExponentialSmoothing(train, **kw).fit()
        if best is None or r.aicc < best[1].aicc:
            best = (cfg, r, kw)
    cfg, r, kw = best
    params = {
        k: r.params[k]
        for k in ("smoothing_level", "smoothing_trend", "smoothing_seasonal", "damping_trend")
        if k in r.params and np.isfinite(r.params[k] if r.params[k] is not None else np.nan)
    }
    ExponentialSmoothing(y, **kw).fit(optimized=False, **params)  # backtest pass
    l0, b0, s0 = hw.initial_states(y[None], m, cfg)
    kw.update(
        initial_level=l0[0], initial_trend=b0[0] if cfg.trend else None, initial_seasonal=s0[0]
    )
    full = ExponentialSmoothing(y, **kw).fit()
    return cfg.name, full.forecast(m - 1), full


def main() -> None:
    from geomon.spatial.forecast import ForecastParams, forecast_cube

    ap = argparse.ArgumentParser()
    ap.add_argument("--locations", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    p = ForecastParams()
    Y = make_cube(a.locations, a.steps, a.seed)
    print(f"cube: {a.locations} locations × {a.steps} monthly steps, {int(Y.sum())} counts")

    t0 = time.perf_counter()
    r = forecast_cube(Y, p)
    ours = time.perf_counter() - t0
    models = {k: int((r.model == k).sum()) for k in sorted(set(r.model))}
    print(f"engine, whole cube: {ours:.1f} s  models {models}")
    statuses = {str(k): int((r.status == k).sum()) for k in sorted(set(r.status))}
    print(f"  trusted {r.trusted.mean():.1%}, statuses {statuses}")

    rng = np.random.default_rng(a.seed + 1)
    ok = np.flatnonzero(r.status == "ok")
    sample = rng.choice(ok, size=min(a.sample, ok.size), replace=False)
    same, diffs = 0, []
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    for i in sample:
        sparse = "GLM" in r.model[i]
        name, fc, _ = statsmodels_location(Y[i], p, sparse)
        if not sparse:
            same += name == r.model[i]
            diffs.append(np.abs(fc - r.forecast[i, : p.season - 1]).max() / Y[i].mean())
    loop = time.perf_counter() - t0
    per = loop / len(sample)
    full = per * a.locations
    print(f"statsmodels loop: {len(sample)} locations in {loop:.1f} s ({per * 1e3:.0f} ms each)")
    print(f"  extrapolated to {a.locations}: {full:.0f} s")
    if diffs:
        print(
            f"  same Holt-Winters model chosen: {same}/{len(diffs)}; median max forecast "
            f"difference / series mean: {np.median(diffs):.3%}"
        )
    print(f"ratio (statsmodels loop / engine): {full / ours:.1f}x  (goal >= 5x, engine <= 60 s)")


if __name__ == "__main__":
    main()
