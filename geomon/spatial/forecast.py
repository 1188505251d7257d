"""Seasonal risk forecast over a space-time cube of counts (locations × steps).

Arrays in, arrays out (DESIGN.md section 5). Per location:

- the season profile (mean count per month- or week-of-year, its standard error and n);
- a seasonal-naive baseline ("same month last year");
- for cells with enough events, Holt–Winters (trend N/A/Ad × seasonality A/M; M only for
  series with no zero) chosen by AICc on the training steps (geomon.spatial.holtwinters); for
  sparse cells a Poisson/quasi-Poisson log-linear model with season effects and a trend
  (geomon.spatial.countmodel);
- a rolling-origin backtest over the last ``backtest_steps`` steps: parameters are fitted on the
  steps before them only, then the model is run forward with those parameters and forecasts
  1..``backtest_horizon`` steps from every origin; RMSE and MASE (scaled by the in-sample
  seasonal-naive MAE, Hyndman & Koehler 2006) for the model and for the baseline;
- ``trusted``: the model beats the seasonal-naive baseline on backtest RMSE *and* has skill
  over the no-information forecast (the training mean): a one-sided Diebold–Mariano test on the
  one-step squared errors at ``trust_alpha``. On pure noise a smoothing model beats
  "same month last year" almost always (the baseline doubles the noise variance), so the first
  condition alone would call noise trustworthy; the second is what keeps noise cells at the
  test's false-positive rate (tests/unit/test_forecast.py);
- forecasts for 1..``horizon`` steps with prediction intervals, the expected peak season
  position over the next full season, and outlier steps (|residual| > k × robust spread).

Locations with no event are ``no_data``, with fewer than ``min_events`` ``not_enough_data``:
their forecasts are NaN, never a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from geomon.errors import InvalidRequest
from geomon.spatial import countmodel as cm
from geomon.spatial import holtwinters as hw

STEP_SEASONS = {"month": 12, "week": 52}
STATUSES = ("ok", "no_data", "not_enough_data")


@dataclass(frozen=True)
class ForecastParams:
    season: int = 12
    horizon: int = 12
    backtest_steps: int = 24
    backtest_horizon: int = 3
    first_season_pos: int = 0  # season position (0 = January / ISO week 1) of step 0
    level: float = 0.9
    outlier_k: float = 3.0
    sparse_mean: float = 3.0
    sparse_zero_share: float = 0.25
    min_events: int = 12
    trust_alpha: float = 0.1

    def check(self, n_steps: int) -> None:
        m = self.season
        if m < 2:
            raise InvalidRequest(f"season length must be at least 2 steps, not {m}")
        if not 1 <= self.horizon <= 2 * m:
            raise InvalidRequest(f"horizon must be 1..{2 * m} steps, not {self.horizon}")
        if not 1 <= self.backtest_horizon <= m:
            raise InvalidRequest(f"backtest_horizon must be 1..{m}, not {self.backtest_horizon}")
        if self.backtest_steps < 4:
            raise InvalidRequest("backtest_steps must be at least 4")
        if not 0 <= self.first_season_pos < m:
            raise InvalidRequest(f"first_season_pos must be 0..{m - 1}")
        if not 0.5 <= self.level < 1:
            raise InvalidRequest("interval level must be in [0.5, 1)")
        need = 2 * m + self.backtest_steps
        if n_steps < need:
            raise InvalidRequest(
                f"{n_steps} steps are too few for a season of {m} steps: need at least "
                f"{need} (two seasons to start the model, {self.backtest_steps} to validate it)"
            )


@dataclass
class ForecastResult:
    params: ForecastParams
    status: np.ndarray  # (L,) str
    model: np.ndarray  # (L,) str, "" when not ok
    forecast: np.ndarray  # (L, H)
    lower: np.ndarray
    upper: np.ndarray
    naive: np.ndarray  # seasonal-naive forecast (L, H)
    fitted: np.ndarray  # (L, T)
    outliers: np.ndarray  # (L, T) bool
    profile_mean: np.ndarray  # (L, m), by season position
    profile_se: np.ndarray
    profile_n: np.ndarray  # (m,)
    rmse: np.ndarray
    rmse_naive: np.ndarray
    mase: np.ndarray
    mase_naive: np.ndarray
    skill_p: np.ndarray  # DM p-value vs the training mean
    trusted: np.ndarray
    peak_pos: np.ndarray  # (L,) season position of the expected peak, -1 when not ok
    alpha: np.ndarray = field(default_factory=lambda: np.empty(0))
    beta: np.ndarray = field(default_factory=lambda: np.empty(0))
    gamma: np.ndarray = field(default_factory=lambda: np.empty(0))
    phi: np.ndarray = field(default_factory=lambda: np.empty(0))
    aicc: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def first_forecast_pos(self) -> int:
        """Season position of the first forecast step."""
        T = self.fitted.shape[1]
        return (T + self.params.first_season_pos) % self.params.season


def season_length(step: str) -> int:
    try:
        return STEP_SEASONS[step]
    except KeyError:
        raise InvalidRequest(f"step must be one of {sorted(STEP_SEASONS)}, not {step!r}") from None


def check_counts(counts) -> np.ndarray:
    y = np.asarray(counts, dtype=float)
    if y.ndim != 2:
        raise InvalidRequest("counts must be a (locations × steps) array")
    if y.shape[0] == 0 or y.shape[1] == 0:
        raise InvalidRequest("the window holds no locations or no steps: nothing to forecast")
    if not np.isfinite(y).all() or (y < 0).any():
        raise InvalidRequest("counts must be finite and non-negative")
    return y


def season_profile(y: np.ndarray, m: int, first_pos: int = 0):
    """Mean, standard error and n per season position (columns 0..m-1)."""
    pos = (np.arange(y.shape[1]) + first_pos) % m
    mean = np.empty((len(y), m))
    se = np.empty((len(y), m))
    n = np.bincount(pos, minlength=m)
    for p in range(m):
        vals = y[:, pos == p]
        mean[:, p] = vals.mean(axis=1)
        se[:, p] = vals.std(axis=1, ddof=1) / np.sqrt(n[p]) if n[p] > 1 else np.nan
    return mean, se, n


def naive_forecast(y: np.ndarray, m: int, horizon: int) -> np.ndarray:
    """Seasonal naive: y_{T+h} = y_{T+h-m*ceil(h/m)}."""
    T = y.shape[1]
    h = np.arange(1, horizon + 1)
    return y[:, T + h - 1 - m * ((h - 1) // m + 1)]


def _pairs(T: int, N: int, hmax: int) -> tuple[np.ndarray, np.ndarray]:
    """(origin, h) pairs of the rolling-origin backtest: origin o = steps observed."""
    o, h = np.meshgrid(np.arange(T - N, T), np.arange(1, hmax + 1), indexing="ij")
    keep = o - 1 + h <= T - 1
    return o[keep], h[keep]


def _hw_backtest(fit_, y, origins, hs, m):
    """Forecasts for the backtest pairs from a filter pass with fixed (training) parameters."""
    cfg = fit_.config
    r = hw.run_filter(
        y, fit_.alpha, fit_.beta, fit_.gamma, fit_.phi, fit_.l0, fit_.b0, fit_.s0, cfg, True
    )
    if cfg.damped:
        ph = fit_.phi[:, None]
        cum = ph * (1 - ph ** hs[None, :]) / (1 - ph)  # phi + ... + phi^h
    else:
        cum = np.asarray(hs, float)[None, :]
    lev, tr = r["lev_t"][origins - 1].T, r["tr_t"][origins - 1].T
    target = origins - 1 + hs
    season = r["seas_t"][m + target - m * ((hs - 1) // m + 1)].T
    base = lev + cum * tr if cfg.trend else lev
    return base * season if cfg.seasonal == "mul" else base + season


def _dm_pvalue(e_model: np.ndarray, e_ref: np.ndarray) -> np.ndarray:
    """One-sided Diebold–Mariano p-value that the model's squared error is smaller."""
    d = e_ref**2 - e_model**2
    n = d.shape[1]
    sd = d.std(axis=1, ddof=1)
    stat = np.where(sd > 0, d.mean(axis=1) / (sd / np.sqrt(n)), 0.0)
    return norm.sf(stat)


def forecast_cube(counts, params: ForecastParams | None = None) -> ForecastResult:
    """Run the whole forecast on a (locations × steps) array of counts."""
    p = params or ForecastParams()
    y = check_counts(counts)
    L, T = y.shape
    p.check(T)
    m, H, N = p.season, p.horizon, p.backtest_steps
    Hc = max(H, m)  # forecast at least one season ahead for the peak
    prof_mean, prof_se, prof_n = season_profile(y, m, p.first_season_pos)

    total = y.sum(axis=1)
    status = np.full(L, "ok", dtype=object)
    status[total < p.min_events] = "not_enough_data"
    status[total == 0] = "no_data"
    ok = status == "ok"
    train = y[:, : T - N]
    sparse = ok & (
        (train.mean(axis=1) < p.sparse_mean) | ((train == 0).mean(axis=1) > p.sparse_zero_share)
    )
    dense = ok & ~sparse

    nanLH = np.full((L, Hc), np.nan)
    fc, lo, hi = nanLH.copy(), nanLH.copy(), nanLH.copy()
    fitted = np.full((L, T), np.nan)
    model = np.full(L, "", dtype=object)
    alpha, beta, gamma, phi, aicc = (np.full(L, np.nan) for _ in range(5))
    origins, hs = _pairs(T, N, p.backtest_horizon)
    bt = np.full((L, len(origins)), np.nan)
    z = norm.ppf(1 - (1 - p.level) / 2)

    # Holt–Winters, chosen by AICc on the training steps
    di = np.flatnonzero(dense)
    if di.size:
        yd, td = y[di], train[di]
        positive = (yd > 0).all(axis=1)
        fits: list[tuple[np.ndarray, hw.HWFit] | None] = []
        scores = np.full((di.size, len(hw.CONFIGS)), np.inf)
        for k, cfg in enumerate(hw.CONFIGS):
            rows = np.flatnonzero(positive) if cfg.seasonal == "mul" else np.arange(di.size)
            if rows.size == 0:
                fits.append(None)
                continue
            f = hw.fit(td[rows], m, cfg)
            fits.append((rows, f))
            a = f.aicc()
            scores[rows, k] = np.where(np.isfinite(a), a, np.inf)
        choice = np.argmin(scores, axis=1)
        for k, cfg in enumerate(hw.CONFIGS):
            entry = fits[k]
            if entry is None:
                continue
            rows_k, f_train = entry
            sel = np.flatnonzero(choice[rows_k] == k)
            if sel.size == 0:
                continue
            loc = di[rows_k[sel]]
            ft = _subset(f_train, sel)
            bt[loc] = _hw_backtest(ft, y[loc], origins, hs, m)
            f_full = hw.fit(y[loc], m, cfg, iterations=15, start=hw.theta_of(ft))
            st = hw.run_filter(
                y[loc], f_full.alpha, f_full.beta, f_full.gamma, f_full.phi,
                f_full.l0, f_full.b0, f_full.s0, cfg, record=True,
            )  # fmt: skip
            fitted[loc] = st["fitted"]
            f_h = hw.forecast(f_full, st, T, Hc)
            k_s = 1 + cfg.trend + cfg.damped + 1
            sigma = np.sqrt(f_full.sse / max(T - k_s, 1))
            sd = hw.interval_sd(f_full, sigma, Hc)
            fc[loc] = np.maximum(f_h, 0.0)
            lo[loc] = np.maximum(f_h - z * sd, 0.0)
            hi[loc] = np.maximum(f_h + z * sd, 0.0)
            model[loc] = cfg.name
            alpha[loc], beta[loc], gamma[loc], phi[loc] = (
                f_full.alpha, f_full.beta, f_full.gamma, f_full.phi,
            )  # fmt: skip
            aicc[loc] = f_full.aicc()

    # the count model for sparse cells
    si = np.flatnonzero(sparse)
    if si.size:
        pos_all = (np.arange(T + Hc) + p.first_season_pos) % m
        t_all = np.arange(T + Hc, dtype=float)
        X_all = cm.design(t_all, pos_all, m, float(T))
        c_tr = cm.fit_poisson(train[si], X_all[: T - N])
        mu_bt = cm.predict(c_tr, X_all[:T])
        bt[si] = mu_bt[:, origins - 1 + hs]
        c_full = cm.fit_poisson(y[si], X_all[:T])
        fitted[si] = c_full.fitted
        mu_f = cm.predict(c_full, X_all[T:])
        fc[si] = mu_f
        lo[si], hi[si] = cm.interval(mu_f, c_full.dispersion, p.level)
        model[si] = np.where(c_full.dispersion > 1.0, "quasi-Poisson GLM", "Poisson GLM")

    # the baseline and the scores
    target = origins - 1 + hs
    actual = y[:, target]
    naive_bt = y[:, target - m * ((hs - 1) // m + 1)]
    e_model, e_naive = actual - bt, actual - naive_bt
    rmse = np.sqrt(np.mean(e_model**2, axis=1))
    rmse_naive = np.sqrt(np.mean(e_naive**2, axis=1))
    scale = np.abs(train[:, m:] - train[:, :-m]).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mase = np.where(scale > 0, np.abs(e_model).mean(axis=1) / scale, np.nan)
        mase_naive = np.where(scale > 0, np.abs(e_naive).mean(axis=1) / scale, np.nan)
    one = hs == 1
    clim = train.mean(axis=1, keepdims=True)
    skill_p = _dm_pvalue(e_model[:, one], actual[:, one] - clim)
    trusted = ok & np.isfinite(rmse) & (rmse < rmse_naive) & (skill_p < p.trust_alpha)
    trusted &= np.isfinite(mase)
    for arr in (rmse, mase, skill_p):
        arr[~ok] = np.nan

    # outliers, peak
    outliers = np.zeros((L, T), dtype=bool)
    if ok.any():
        resid = y[ok] - fitted[ok]
        med = np.median(resid, axis=1, keepdims=True)
        spread = 1.4826 * np.median(np.abs(resid - med), axis=1)
        spread = np.where(spread > 0, spread, resid.std(axis=1))
        outliers[ok] = (np.abs(resid) > p.outlier_k * spread[:, None]) & (spread[:, None] > 0)
    peak = np.full(L, -1)
    if ok.any():
        peak[ok] = (T + np.argmax(fc[ok, :m], axis=1) + p.first_season_pos) % m

    naive = naive_forecast(y, m, H)
    return ForecastResult(
        params=p, status=status, model=model,
        forecast=fc[:, :H], lower=lo[:, :H], upper=hi[:, :H], naive=naive,
        fitted=fitted, outliers=outliers,
        profile_mean=prof_mean, profile_se=prof_se, profile_n=prof_n,
        rmse=rmse, rmse_naive=rmse_naive, mase=mase, mase_naive=mase_naive,
        skill_p=skill_p, trusted=trusted, peak_pos=peak,
        alpha=alpha, beta=beta, gamma=gamma, phi=phi, aicc=aicc,
    )  # fmt: skip


def _subset(f: hw.HWFit, sel: np.ndarray) -> hw.HWFit:
    return hw.HWFit(
        f.config, f.alpha[sel], f.beta[sel], f.gamma[sel], f.phi[sel],
        f.l0[sel], f.b0[sel], f.s0[sel], f.sse[sel], f.n,
    )  # fmt: skip
