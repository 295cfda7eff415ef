"""Per-category model fitting: statsmodels ETS (SES, Holt, damped Holt) and SARIMAX AR(1), chosen by AICc.

Why a grid: ``ETSModel.fit`` / ``SARIMAX.fit`` spend 10-40 ms each, mostly outside the
likelihood (optimizer set-up, results objects); the likelihood itself costs ~20 us for ETS
and ~70 us for SARIMAX. We maximise statsmodels' own (concentrated) log-likelihood over a
fixed grid of smoothing/AR parameters, which keeps every category of a user inside the
50 ms budget. States, residuals and analytic prediction intervals are then computed by the
same recursions statsmodels uses (a test checks them against ``ETSModel.smooth``), and
``statsmodels_model()`` rebuilds the full statsmodels object for inspection.

Short series (few events) get the stated fallback: an EWMA level with a Poisson-bootstrap band.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import Literal

import numpy as np
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX

ModelName = Literal["ets_ann", "ets_aan", "ets_aadn", "sarimax_ar1", "ewma_bootstrap", "constant"]
MODEL_TEXT: dict[str, str] = {
    "ets_ann": "ETS(A,N,N) simple exponential smoothing",
    "ets_aan": "ETS(A,A,N) Holt's linear trend",
    "ets_aadn": "ETS(A,Ad,N) damped Holt trend",
    "sarimax_ar1": "SARIMAX(1,0,0) with mean",
    "ewma_bootstrap": "EWMA level with bootstrap band (short series)",
    "constant": "constant share (no variation)",
}
_ALPHAS = (0.1, 0.2, 0.35, 0.5)  # shares are noisy proportions: faster levels only chase noise
_ANN_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
_SHORT_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3)
SHORT_SERIES = 8  # fewer buckets: only simple smoothing with a slow level (too few points for a trend)
_BETA_FRACS = (0.1, 0.4)
_PHIS = (0.9,)
_AR_PHIS = (0.0, 0.3, 0.6, 0.85, 0.95)


@dataclass
class Observed:
    """What the confidence intervals need besides the fitted series: raw shares, events per bucket, ``mix``."""

    shares: np.ndarray  # [T]
    totals: np.ndarray  # [T]
    mix: np.ndarray  # [T, T]: fitted series = mix @ shares


@dataclass
class FitOutcome:
    model: ModelName
    params: dict[str, float]
    aicc: float | None
    level: float
    slope: float  # per bucket
    sigma: float
    mean: np.ndarray  # [h] forecast share per future bucket
    lower: np.ndarray
    upper: np.ndarray
    window_mean: float  # forecast mean share over the next h buckets
    window_lower: float  # confidence interval of that expected share (estimation noise of the states)
    window_upper: float
    window_pi_lower: float  # prediction interval of the share that will be observed over the window
    window_pi_upper: float
    fitted: np.ndarray  # [T] one-step-ahead fitted values
    candidates: dict[str, float] = field(default_factory=dict)  # model -> AICc of every candidate tried
    warnings: list[str] = field(default_factory=list)


@lru_cache(maxsize=64)
def z_value(level: float) -> float:
    """Two-sided normal quantile for coverage ``level`` (scipy's ppf costs ~0.5 ms a call)."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def _aicc(loglike: float, k: int, n: int) -> float:
    aic = -2.0 * loglike + 2.0 * k
    return aic + (2.0 * k * (k + 1)) / (n - k - 1) if n - k - 1 > 0 else math.inf


def ets_filter(y: np.ndarray, alpha: float, beta: float, phi: float, l0: float | np.ndarray, b0: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray, float | np.ndarray, float | np.ndarray]:
    """Additive-error ETS recursion (statsmodels' parameterisation): fitted, errors, final level, final trend.

    ``y`` may be [T] or [T, K] (K series filtered at once, ``l0`` then [K]).
    """
    fitted = np.empty_like(y, dtype=np.float64)
    level = l0 if np.ndim(y) == 1 else np.broadcast_to(np.asarray(l0, dtype=np.float64), y.shape[1:]).copy()
    trend = b0 * np.ones_like(level) if np.ndim(y) > 1 else b0
    for t in range(len(y)):
        yhat = level + phi * trend
        fitted[t] = yhat
        err = y[t] - yhat
        level = yhat + alpha * err
        trend = phi * trend + beta * err
    return fitted, y - fitted, level, trend


def initial_level_weights(obs: Observed) -> np.ndarray:
    """l0 = w @ raw shares: the event-weighted share of the first half of the series (at least 4 buckets)."""
    n = len(obs.totals)
    first = np.zeros(n)
    m = min(n, max(4, math.ceil(n / 2)))
    first[:m] = obs.totals[:m]
    return first / first.sum() if first.sum() > 0 else np.full(n, 1.0 / n)


def _ets_window_weights(obs: Observed, alpha: float, beta: float, phi: float, h: int) -> np.ndarray:
    """g_raw [T]: the window-mean forecast as a linear function of the raw bucket shares.

    The forecast is linear in the fitted series (= mix @ shares) and in l0 (= w @ shares).
    """
    n = len(obs.totals)
    mean_phi = float(np.cumsum(phi ** np.arange(1, h + 1)).mean())
    _, _, lT, bT = ets_filter(np.eye(n), alpha, beta, phi, np.zeros(n), 0.0)
    g_y = np.asarray(lT) + mean_phi * np.asarray(bT)
    _, _, l1, b1 = ets_filter(np.zeros(n), alpha, beta, phi, 1.0, 0.0)
    g_l0 = float(l1) + mean_phi * float(b1)
    return obs.mix.T @ g_y + g_l0 * initial_level_weights(obs)


def _intervals(mean: np.ndarray, psi: np.ndarray, sigma: float, level: float
               ) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Per-step and window-mean Gaussian intervals from the future-error loading matrix ``psi`` [h, h]."""
    z = z_value(level)
    sd_step = sigma * np.sqrt((psi**2).sum(axis=1))
    a = psi.mean(axis=0)
    sd_win = sigma * math.sqrt(float((a**2).sum()))
    wm = float(mean.mean())
    return (np.clip(mean - z * sd_step, 0, 1), np.clip(mean + z * sd_step, 0, 1), max(0.0, wm - z * sd_win),
            min(1.0, wm + z * sd_win), wm)


def mean_interval(g_raw: np.ndarray, fitted: np.ndarray, shares: np.ndarray, totals: np.ndarray, level: float
                  ) -> float:
    """Half-width of the confidence interval of a forecast that is linear in the raw shares: ``g_raw @ shares``.

    Each observed bucket share has binomial variance p(1-p)/n_t (p from the model's fit, Jeffreys-smoothed),
    scaled by a quasi-binomial dispersion factor (>= 1) estimated from the residuals of the raw shares.
    """
    obs = totals > 0
    nt = np.maximum(totals, 1.0)
    p = (np.clip(fitted, 0, 1) * nt + 0.5) / (nt + 1)
    var = np.where(obs, p * (1 - p) / nt, 0.0)
    disp = 1.0
    if obs.sum() > 2:
        # robust to the few huge residuals of a step: median of chi2(1) is 0.455
        # shrunk toward 1 (binomial) with the weight of 8 buckets: a handful of buckets cannot inflate it much
        est = max(1.0, float(np.median((shares - fitted)[obs] ** 2 / var[obs])) / 0.455)
        n_obs = int(obs.sum())
        disp = (n_obs * est + 8.0) / (n_obs + 8.0)
    z = z_value(level)
    return z * math.sqrt(disp * float((g_raw**2 * var).sum()))


def _finish(name: ModelName, params: dict[str, float], aicc: float | None, level_now: float, slope: float,
            sigma: float, mean: np.ndarray, psi: np.ndarray, g: np.ndarray, fitted: np.ndarray, obs: Observed,
            level: float) -> FitOutcome:
    lo, hi, pi_lo, pi_hi, wm = _intervals(mean, psi, sigma, level)
    half = mean_interval(g, fitted, obs.shares, obs.totals, level)
    # a share lives in [0, 1]: a trend extrapolated past a bound is clipped there (interval included)
    lo_w, hi_w = min(1.0, max(0.0, wm - half)), max(0.0, min(1.0, wm + half))
    wm = min(1.0, max(0.0, wm))
    return FitOutcome(model=name, params=params, aicc=aicc, level=level_now, slope=slope, sigma=sigma,
                      mean=np.clip(mean, 0.0, 1.0), lower=lo, upper=hi, window_mean=wm, window_lower=lo_w,
                      window_upper=hi_w, window_pi_lower=pi_lo, window_pi_upper=pi_hi, fitted=fitted)


def _ets_outcome(y: np.ndarray, obs: Observed, name: ModelName, p: tuple[float, float, float], l0: float,
                 h: int, level: float, aicc: float) -> FitOutcome:
    alpha, beta, phi = p
    fitted, err, lT, bT = ets_filter(y, alpha, beta, phi, l0, 0.0)
    sigma = float(np.sqrt(np.mean(err**2)))
    phis = np.cumsum(phi ** np.arange(1, h + 1))  # phi_j = phi + ... + phi^j
    mean = float(lT) + phis * float(bT)
    c = alpha + beta * np.concatenate([[0.0], phis])  # c_i for i = 0..h (c_0 unused)
    psi = np.eye(h)
    for j in range(h):
        for k in range(j):
            psi[j, k] = c[j - k]
    params = {"smoothing_level": alpha, "initial_level": l0}
    if name != "ets_ann":
        params["smoothing_trend"] = beta
    if name == "ets_aadn":
        params["damping_trend"] = phi
    g = _ets_window_weights(obs, alpha, beta, phi, h)
    return _finish(name, params, aicc, float(lT), float(phi * bT) if name != "ets_ann" else 0.0, sigma, mean, psi, g,
                   fitted, obs, level)


def _best_ets(y: np.ndarray, l0: float, trend: bool, damped: bool, alphas: tuple[float, ...] = _ANN_ALPHAS
              ) -> tuple[float, tuple[float, float, float]]:
    """Maximum of statsmodels' concentrated ETS log-likelihood over the parameter grid."""
    model = ETSModel(y, error="add", trend="add" if trend else None, damped_trend=damped,
                     initialization_method="known", initial_level=l0, initial_trend=0.0 if trend else None)
    if not trend:
        grid = [(a, 0.0, 1.0) for a in alphas]
    elif not damped:
        grid = [(a, a * f, 1.0) for a, f in itertools.product(_ALPHAS, _BETA_FRACS)]
    else:
        grid = [(a, a * f, ph) for a, f, ph in itertools.product(_ALPHAS, _BETA_FRACS, _PHIS)]
    best_ll, best_p = -math.inf, grid[0]
    for p in grid:
        vec = np.array(p[:1] if not trend else p[:2] if not damped else p)
        ll = float(model.loglike(vec))
        if ll > best_ll:
            best_ll, best_p = ll, p
    return best_ll, best_p


def _ar1(y: np.ndarray, obs: Observed, h: int, level: float) -> tuple[float, FitOutcome]:
    mu = float(y.mean())
    model = SARIMAX(y - mu, order=(1, 0, 0), trend="n", concentrate_scale=True)
    best_ll, phi = -math.inf, 0.0
    for p in _AR_PHIS:
        ll = float(model.loglike(np.array([p])))
        if ll > best_ll:
            best_ll, phi = ll, p
    n = len(y)
    d = y - mu
    fitted = np.concatenate([[mu], mu + phi * d[:-1]])
    sigma = float(np.sqrt(np.mean((y - fitted)[1:] ** 2)))
    decay = phi ** np.arange(1, h + 1)
    mean = mu + decay * d[-1]
    psi = np.array([[phi ** (j - k) if k <= j else 0.0 for k in range(h)] for j in range(h)])
    g_y = np.full(n, (1 - decay.mean()) / n)  # window mean = mu + mean(decay) * (y_T - mu)
    g_y[-1] += decay.mean()
    g = obs.mix.T @ g_y
    slope = float((mean[-1] - mean[0]) / (h - 1)) if h > 1 else float(mean[0] - y[-1])
    aicc = _aicc(best_ll, 3, n)
    return aicc, _finish("sarimax_ar1", {"intercept": mu, "ar.L1": phi}, aicc, float(mean[0]), slope, sigma, mean,
                         psi, g, fitted, obs, level)


def _constant(y: np.ndarray, h: int) -> FitOutcome:
    v = float(y[-1])
    m = np.full(h, v)
    return FitOutcome(model="constant", params={}, aicc=None, level=v, slope=0.0, sigma=0.0, mean=m, lower=m.copy(),
                      upper=m.copy(), window_mean=v, window_lower=v, window_upper=v, window_pi_lower=v,
                      window_pi_upper=v, fitted=np.full(len(y), v))


def fit_series(y: np.ndarray, obs: Observed, h: int, level: float = 0.9, use_sarimax: bool = False) -> FitOutcome:
    """Fit the candidate models to one share series ``y`` [T] and keep the lowest AICc."""
    y = np.asarray(y, dtype=np.float64)
    if float(np.ptp(y)) < 1e-12:
        return _constant(y, h)
    n = len(y)
    l0 = float(initial_level_weights(obs) @ obs.shares)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        cands: list[tuple[float, ModelName, tuple[float, float, float]]] = []
        forms = (("ets_ann", False, False, 3), ("ets_aan", True, False, 4), ("ets_aadn", True, True, 5))
        for name, trend, damped, k in forms if n >= SHORT_SERIES else forms[:1]:
            ll, p = _best_ets(y, l0, trend, damped, _ANN_ALPHAS if n >= SHORT_SERIES else _SHORT_ALPHAS)
            cands.append((_aicc(ll, k, n), name, p))  # type: ignore[arg-type]
        ar: tuple[float, FitOutcome] | None = _ar1(y, obs, h, level) if use_sarimax else None
        caught = [f"{w.category.__name__}: {w.message}" for w in rec]
    scores: dict[str, float] = {name: a for a, name, _ in cands}
    best_a, best_name, best_p = min(cands, key=lambda c: c[0])
    if ar is not None:
        scores["sarimax_ar1"] = ar[0]
    out = ar[1] if ar is not None and ar[0] < best_a else _ets_outcome(y, obs, best_name, best_p, l0, h, level,
                                                                         best_a)
    out.candidates = scores
    out.warnings = caught
    return out


def ewma_bootstrap(counts: np.ndarray, totals: np.ndarray, h: int, level: float, alpha: float, draws: int,
                   seed: int = 0) -> FitOutcome:
    """Fallback for short series: EWMA of the bucket shares; the confidence band is a Poisson bootstrap of the
    bucket counts, the prediction band adds the binomial noise of a next window of typical size."""
    rng = np.random.default_rng(seed)
    t = len(totals)
    wts = (1 - alpha) ** np.arange(t - 1, -1, -1)

    def ewma(c: np.ndarray, tot: np.ndarray) -> np.ndarray:
        share = np.divide(c, tot, out=np.zeros_like(c), where=tot > 0)
        ww = np.where(tot > 0, wts, 0.0)
        return (share * ww).sum(axis=-1) / np.maximum(ww.sum(axis=-1), 1e-12)

    lvl = float(ewma(counts, totals))
    scale = rng.poisson(1.0, size=(draws, t)).astype(float)  # resample each bucket's volume ...
    boot_t = np.rint(totals * scale)
    p = np.clip(np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0), 0, 1)
    boot_c = rng.binomial(boot_t.astype(int), p).astype(float)  # ... and its category count
    boot = ewma(boot_c, boot_t)
    m = max(1, round(float(totals.sum()) / t * h))
    nxt = rng.binomial(m, np.clip(boot, 0, 1)) / m
    q = (0.5 - level / 2, 0.5 + level / 2)
    clo, chi = (float(v) for v in np.quantile(boot, q))
    plo, phi = (float(v) for v in np.quantile(nxt, q))
    mean = np.full(h, lvl)
    return FitOutcome(model="ewma_bootstrap", params={"alpha": alpha, "draws": float(draws)}, aicc=None, level=lvl,
                      slope=0.0, sigma=float(np.std(boot)), mean=mean, lower=np.full(h, plo), upper=np.full(h, phi),
                      window_mean=lvl, window_lower=min(clo, lvl), window_upper=max(chi, lvl), window_pi_lower=plo,
                      window_pi_upper=phi, fitted=p)


def statsmodels_model(y: np.ndarray, outcome: FitOutcome) -> ETSModel | SARIMAX | None:
    """The statsmodels model behind ``outcome`` (call ``.smooth(params)`` on it for the full results object)."""
    y = np.asarray(y, dtype=np.float64)
    p = outcome.params
    if outcome.model.startswith("ets_"):
        trend = outcome.model != "ets_ann"
        return ETSModel(y, error="add", trend="add" if trend else None, damped_trend=outcome.model == "ets_aadn",
                        initialization_method="known", initial_level=p["initial_level"],
                        initial_trend=0.0 if trend else None)
    if outcome.model == "sarimax_ar1":
        return SARIMAX(y - p["intercept"], order=(1, 0, 0), trend="n", concentrate_scale=True)
    return None


def statsmodels_params(outcome: FitOutcome) -> np.ndarray:
    p = outcome.params
    if outcome.model == "ets_ann":
        return np.array([p["smoothing_level"]])
    if outcome.model == "ets_aan":
        return np.array([p["smoothing_level"], p["smoothing_trend"]])
    if outcome.model == "ets_aadn":
        return np.array([p["smoothing_level"], p["smoothing_trend"], p["damping_trend"]])
    if outcome.model == "sarimax_ar1":
        return np.array([p["ar.L1"]])
    return np.array([])
