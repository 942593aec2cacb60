"""The NWS forecast: /points/{lat},{lon}, then the forecast URL that answer names (never a fixed grid)."""

from __future__ import annotations

import requests

from weather_checker.results import StepFailed


def point_path(latitude: float, longitude: float) -> str:
    """NWS redirects anything finer than 4 decimals, so send at most 4 (and still follow redirects)."""

    def fmt(value: float) -> str:
        return f"{value:.4f}".rstrip("0").rstrip(".")

    return f"/points/{fmt(latitude)},{fmt(longitude)}"


def _problem(response: requests.Response) -> str:
    """The title/detail of an application/problem+json error, or the start of whatever came back."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("title") or body.get("detail")):
        return "; ".join(str(body[k]) for k in ("title", "detail") if body.get(k))
    text = " ".join(response.text.split())[:120]
    return text or "empty body"


def get_json(session: requests.Session, url: str, what: str,
             timeout: float) -> tuple[dict, requests.Response]:
    """GET one NWS document; 5xx, timeouts and connection errors are transient, the rest are not."""
    try:
        response = session.get(url, timeout=timeout, headers={"Accept": "application/geo+json"})
    except requests.Timeout:
        raise StepFailed(f"NWS {what} request timed out after {timeout:g} s: {url}", transient=True) from None
    except requests.RequestException as error:
        raise StepFailed(f"NWS {what} request failed: {type(error).__name__} for {url}",
                         transient=True) from None
    if response.status_code >= 500:
        raise StepFailed(f"NWS {what} answered {response.status_code} (after retries): {_problem(response)}",
                         transient=True)
    if response.status_code == 404:
        raise StepFailed(f"NWS has no {what} for {url} (404): {_problem(response)}")
    if response.status_code != 200:
        raise StepFailed(f"NWS {what} answered {response.status_code}: {_problem(response)}")
    try:
        document = response.json()
    except ValueError as error:
        raise StepFailed(f"NWS {what} answer is malformed JSON ({error}): {url}") from None
    if not isinstance(document, dict) or not isinstance(document.get("properties"), dict):
        raise StepFailed(f"NWS {what} answer has no 'properties' object: {url}")
    return document, response


def fetch_forecast(session: requests.Session, base_url: str, latitude: float, longitude: float,
                   timeout: float) -> dict:
    """Return the first forecast period and where it came from; raise StepFailed naming what was wrong."""
    points, points_response = get_json(session, base_url + point_path(latitude, longitude), "point", timeout)
    props = points["properties"]
    forecast_url = props.get("forecast")
    if not isinstance(forecast_url, str) or not forecast_url.startswith(("http://", "https://")):
        raise StepFailed(f"NWS point answer has no forecast URL: {points_response.url}")
    forecast, _ = get_json(session, forecast_url, "forecast", timeout)
    periods = forecast["properties"].get("periods")
    if not isinstance(periods, list) or not periods or not isinstance(periods[0], dict):
        raise StepFailed(f"NWS forecast has no periods: {forecast_url}")
    first = periods[0]
    text = first.get("detailedForecast") or first.get("shortForecast")
    if not isinstance(text, str) or not text.strip():
        raise StepFailed(f"NWS forecast period has no text: {forecast_url}")
    place = ((props.get("relativeLocation") or {}).get("properties") or {})
    city = ", ".join(str(place[k]) for k in ("city", "state") if place.get(k))
    temperature = first.get("temperature")
    return {
        "period": str(first.get("name") or "Forecast"),
        "text": text.strip(),
        "short": str(first.get("shortForecast") or ""),
        "temperature": f"{temperature}°{first.get('temperatureUnit', '')}" if temperature is not None else "",
        "place": city,
        "grid": f"{props.get('gridId', '?')}/{props.get('gridX', '?')},{props.get('gridY', '?')}",
        "point_url": points_response.url,
        "redirected": bool(points_response.history),
        "forecast_url": forecast_url,
        "updated": str(forecast["properties"].get("updateTime") or ""),
    }
