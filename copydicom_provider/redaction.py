"""Text about a URL or a command line with every credential taken out, however malformed the input.

Why: an error message that quotes what the user typed must not quote the password in it, and a
typo (``http//user:PW@host``, ``http:/user:PW@host``, no scheme at all) defeats URL parsers, so
nothing here parses: anything before an ``@`` in a word, and the value of any query or option
whose name says token, password, secret or key, is replaced by ``***``. Known secrets are masked
where they stand whole (:func:`mask_whole`), never inside other words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: A word: up to the next white space. A quote inside a word may be part of a password (``ab'cd``).
WORD = re.compile(r"\S+")
#: What may open a word before its URL starts: quotes and brackets that the message put around it.
OPENERS = "'\"([<"
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://?")
_SECRET_NAME = r"[\w-]*(?:token|password|passwd|secret|key|auth)[\w-]*"
SECRET_PARAM = re.compile(rf"(?i)(?P<name>{_SECRET_NAME})=(?P<value>[^&\s'\"]+)")
#: An option whose name says secret, given its value as the next word (``--dest-password hunter2``).
SECRET_OPTION = re.compile(rf"(?i)(?P<name>(?<![\w-])--?{_SECRET_NAME})(?P<space>\s+)(?P<value>[^\s'\"-]\S*)")


def redact_text(text: str) -> str:
    """``text`` with credentials in URLs (userinfo, secret query values) and secret options replaced by ``***``."""
    text = SECRET_PARAM.sub(lambda m: f"{m['name']}=***", text)
    text = SECRET_OPTION.sub(lambda m: f"{m['name']}{m['space']}***", text)
    return WORD.sub(_word, text)


def _word(match: re.Match[str]) -> str:
    """Everything up to a word's last ``@`` (after its scheme, if it has a well-formed one) is credentials."""
    word = match.group(0)
    if "@" not in word:
        return word
    opened = len(word) - len(word.lstrip(OPENERS))
    scheme = SCHEME.match(word, opened)
    start = scheme.end() if scheme else opened
    return word[:start] + "***" + word[word.rindex("@"):]


def redact_url(url: str) -> str:
    """A URL fit for an error message or a log line."""
    return redact_text(url)


def mask_whole(text: str, secrets: Iterable[str], min_length: int) -> str:
    """``text`` with each secret of at least ``min_length`` characters replaced by ``***`` where it stands
    as a whole value: not inside a longer word. Starring a secret inside words spells it out (the
    password ``st`` gave ``nothing li***ens on that ho*** and port``), and a short one would be starred
    all over ordinary text, so shorter secrets are not masked, as Airflow's masker does not mask them."""
    for secret in sorted({s for s in secrets if len(s) >= max(min_length, 1)}, key=len, reverse=True):
        text = _standing_whole(secret).sub("***", text)
    return text


def _standing_whole(secret: str) -> re.Pattern[str]:
    """``secret``, not preceded or followed by a word character where its own edge is one."""
    before = r"(?<!\w)" if re.match(r"\w", secret[0]) else ""
    after = r"(?!\w)" if re.match(r"\w", secret[-1]) else ""
    return re.compile(before + re.escape(secret) + after)
