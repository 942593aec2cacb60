"""Render the diagnostics page from a run record and the history; every value goes through html.escape."""

from __future__ import annotations

from html import escape

STATUS_WORDS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def age_slot(finished_at: str) -> str:
    """Where 'ran N min ago' goes: the diagnostics server fills it on every request (diagnostics/age.py)."""
    return f'<span id="age" data-finished="{e(finished_at)}"></span>'


def _verdict(record: dict) -> str:
    checks, failed = record["checks"], record["failed"]
    if failed:
        text = f"{len(failed)} of {len(checks)} checks failed: {', '.join(failed)}"
    else:
        text = f"all {len(checks)} checks passed"
    return f'<p id="verdict" class="verdict {"fail" if failed else "pass"}">{e(text)}</p>'


def _forecast(record: dict) -> str:
    forecast = record.get("forecast")
    if not forecast:
        return '<p id="forecast" class="forecast missing">No forecast this run (see the forecast check).</p>'
    temperature = f" ({e(forecast['temperature'])})" if forecast.get("temperature") else ""
    where = " · ".join(e(forecast[k]) for k in ("place", "grid") if forecast.get(k))
    return (f'<p id="forecast" class="forecast"><strong>{e(forecast["period"])}</strong>{temperature}: '
            f'{e(forecast["text"])}</p>\n<p class="small">NOAA/NWS forecast · {where}</p>')


def _secret(record: dict, secret: str | None) -> str:
    label = f"{record['environment']} demonstration secret"
    if secret is None:
        return f'<p id="secret" class="secret missing">{e(label)}: unavailable (see the secret check)</p>'
    return f'<p id="secret" class="secret">{e(label)}: <code>{e(secret)}</code></p>'


def _image(record: dict) -> str:
    camera = record.get("camera") or {}
    if not camera.get("image"):
        return '<p id="camera" class="no-image">No camera image this run (see the camera check).</p>'
    alt = f"Camera {camera.get('camera_id', '')}: {camera.get('label', '')}"
    offline = ""
    if camera.get("offline"):
        offline = f'<p class="offline">Camera looks offline: {e(camera["offline"])}</p>'
    return (f'<figure id="camera"><img src="{e(camera["image"])}" alt="{e(alt)}" '
            f'width="{e(camera.get("width", ""))}" height="{e(camera.get("height", ""))}">'
            f'<figcaption>{e(alt)} · taken {e(camera.get("taken_local", ""))}</figcaption></figure>{offline}')


def _checks(record: dict) -> str:
    rows = "\n".join(
        f'<tr class="{e(c["status"])}"><th scope="row">{e(c["name"])}</th>'
        f'<td class="status">{e(STATUS_WORDS.get(c["status"], c["status"]))}</td>'
        f'<td>{e(c["detail"])}</td></tr>'
        for c in record["checks"])
    return (f'<table id="checks"><thead><tr><th>check</th><th>result</th><th>detail</th></tr></thead>'
            f"<tbody>\n{rows}\n</tbody></table>")


def _history(history: list[dict]) -> str:
    rows = []
    for run in history:
        verdict = "pass" if not run.get("failed") else "fail"
        image = f'<a href="{e(run["image"])}">image</a>' if run.get("image") else "no image"
        rows.append(f'<tr class="{verdict}"><td><time datetime="{e(run.get("finished_at"))}">'
                    f'{e(run.get("local_time"))}</time></td><td class="status">{verdict.upper()}</td>'
                    f'<td>{e(", ".join(run.get("failed") or [])) or "none"}</td>'
                    f'<td>{e(run.get("forecast_short"))}</td><td>{image}</td><td>{e(run.get("run_id"))}</td></tr>')
    body = "\n".join(rows) or '<tr><td colspan="6">no runs yet</td></tr>'
    return ('<table id="history"><thead><tr><th>ran at</th><th>result</th><th>failed checks</th>'
            f"<th>forecast</th><th>camera</th><th>run</th></tr></thead><tbody>\n{body}\n</tbody></table>")


def _footer(record: dict) -> str:
    parts = [f"stack version {record.get('stack_version') or 'unknown'}"]
    if record.get("commit"):
        parts.append(f"deployed commit {record['commit'][:12]}")
    parts += [f"Airflow {record.get('airflow_version') or 'unknown'}", f"environment {record['environment']}",
              f"page written on {record.get('host', '?')}"]
    return f'<footer id="version">{e(" · ".join(parts))}</footer>'


def render(record: dict, history: list[dict], secret: str | None) -> str:
    """The whole index.html: latest run first, then the history, the version in the footer."""
    failed = bool(record["failed"])
    title = f"{'FAILED · ' if failed else ''}Weather checker · {record['environment']}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<link rel="stylesheet" href="page.css">
<link rel="icon" href="favicon.png">
</head>
<body class="{"fail" if failed else "pass"}">
<header><h1>ATX Weather Report</h1>
{_verdict(record)}
<p id="ran">Ran at <time datetime="{e(record["finished_at"])}">{e(record["local_time"])}</time>
({e(record["timezone"])}), {age_slot(record["finished_at"])} · run <code>{e(record["run_id"])}</code></p>
</header>
<main>
<section id="latest">
{_forecast(record)}
{_secret(record, secret)}
{_image(record)}
<h2>Checks</h2>
{_checks(record)}
</section>
<section>
<h2>Last {len(history)} runs</h2>
{_history(history)}
</section>
</main>
{_footer(record)}
</body>
</html>
"""
