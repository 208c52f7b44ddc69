"""A refused credential, told as what to fix: the option or environment variable the CLI took it from.

Why: the hooks say "check the connection's login and password", which is right for an Airflow
connection but not for a shell, where the credential came from ``--src``'s URL, ``COPYDICOM_SRC`` or
``COPYDICOM_SRC_USER``/``COPYDICOM_SRC_PASSWORD`` (:mod:`copydicom_provider.cli.urls`). Where each came
from is noted before the URLs are completed, since completing them hides it. Nothing here quotes a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from copydicom_provider.config import role_variable
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.splunk import SplunkError, SplunkHecError

#: The hooks' advice for a 401, which the CLI's own replaces (at the end of the message, after the request).
CONNECTION_ADVICE = "check the connection's login and password"
LOGIN, HEC_TOKEN, TOKEN = "login", "hec_token", "token"


def credential_origins(given: Mapping[str, str | None]) -> dict[str, dict[str, str]]:
    """For each role (``src``, ``dest``, ``index``) and credential (login, HEC token, search token), where
    it is set: ``url`` (in ``--role``'s URL), ``url-variable`` (in ``COPYDICOM_ROLE``'s), ``variables``
    (``COPYDICOM_ROLE_USER``/``_PASSWORD`` or ``_HEC_TOKEN``/``_TOKEN``) or ``""`` (nowhere)."""
    origins: dict[str, dict[str, str]] = {}
    for role, value in given.items():
        url = value or role_variable(role) or ""
        in_url = "url" if value else "url-variable"
        try:
            parts = urlsplit(url)
            query = dict(parse_qsl(parts.query))
            login_in_url = bool(parts.password)
        except ValueError:  # a malformed URL is refused before any request: nothing to name
            query, login_in_url = {}, False
        found = {LOGIN: in_url if login_in_url else "variables" if role_variable(role, "_PASSWORD") else ""}
        if role == "index":
            for name in (HEC_TOKEN, TOKEN):
                found[name] = in_url if query.get(name) else "variables" if role_variable(role, f"_{name.upper()}") \
                    else ""
        origins[role] = found
    return origins


def with_fix(error: OrthancError | SplunkError, origins: Mapping[str, Mapping[str, str]],
             urls: Mapping[str, str | None]) -> str:
    """``error``'s message, with the option or variable to fix when it is a refused credential."""
    message = str(error)
    fix = _fix(error, origins, urls)
    if not fix:
        return message
    message = message.replace(f": {CONNECTION_ADVICE}", "").rstrip(".")
    return f"{message}; {fix}"


def _fix(error: OrthancError | SplunkError, origins: Mapping[str, Mapping[str, str]],
         urls: Mapping[str, str | None]) -> str:
    status = getattr(error, "status", None)
    if isinstance(error, OrthancError) and status == 401:
        roles = _roles_at(error.server, {role: urls.get(role) for role in ("src", "dest") if role in origins})
        return " or ".join(_advice(role, LOGIN, origins[role][LOGIN]) for role in roles)
    if "index" not in origins:
        return ""
    if isinstance(error, SplunkHecError) and status in (401, 403):
        return _advice("index", HEC_TOKEN, origins["index"][HEC_TOKEN])
    if isinstance(error, SplunkError) and status == 401:
        kind = TOKEN if origins["index"][TOKEN] else LOGIN
        return _advice("index", kind, origins["index"][kind])
    return ""


def _roles_at(server: str | None, urls: Mapping[str, str | None]) -> list[str]:
    """The roles whose URL names the refusing server (both when it cannot be told, e.g. no server given)."""
    def address(url: str | None) -> tuple[str | None, int | None, str] | None:
        try:
            parts = urlsplit(url or "")
            return parts.hostname, parts.port, parts.path.rstrip("/")
        except ValueError:
            return None

    target = address(server)
    exact = [role for role, url in urls.items() if target and address(url) == target]
    same_host = [role for role, url in urls.items() if target and (address(url) or ())[:2] == target[:2]]
    return exact or same_host or list(urls)


def _advice(role: str, kind: str, origin: str) -> str:
    """What to fix, naming where the credential came from and where it belongs."""
    prefix = f"COPYDICOM_{role.upper()}"
    if kind == LOGIN:
        variables, what, them = f"{prefix}_USER and {prefix}_PASSWORD", "the user and password", "them"
    else:
        variables, them = f"{prefix}_{kind.upper()}", "it"
        what = "the HEC token" if kind == HEC_TOKEN else "the search token"
    place = {"url": f"--{role}'s URL", "url-variable": f"the URL in {prefix}"}.get(origin)
    if place:
        were = "were" if them == "them" else "was"
        return f"{what} in {place} {were} refused: correct {them}, or leave {them} out of the URL and set {variables}"
    if origin == "variables":
        return f"check {variables} ({what} for --{role})"
    return f"--{role} was given no {what.removeprefix('the ')}: set {variables}"
