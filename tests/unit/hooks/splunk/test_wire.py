"""The management port's form bodies are encoded as requests encodes them (a fast path for ASCII)."""

from __future__ import annotations

import random

from requests.models import RequestEncodingMixin

from copydicom_provider.hooks.splunk.wire import form_encoded

ALPHABET = [chr(c) for c in range(128)] + ["é", "漢", "\u2028", "😀", "%", "+", "&", "="]


def test_random_forms_encode_exactly_as_requests_does():
    rng = random.Random(15)
    for _ in range(3000):
        form: dict[str, object] = {}
        for _ in range(rng.randint(1, 4)):
            name = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8)))
            kind = rng.random()
            text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
            if kind < 0.6:
                form[name] = text
            elif kind < 0.7:
                form[name] = rng.randint(-10**6, 10**6)
            elif kind < 0.8:
                form[name] = text.encode()
            elif kind < 0.9:
                form[name] = [text, rng.random(), None]
            else:
                form[name] = None
        assert form_encoded(form) == RequestEncodingMixin._encode_params(form), form


def test_a_duplicate_checks_search_is_encoded_whole():
    keys = ", ".join(f'"{n:08x}-{n:08x}:instance"' for n in range(1000))
    form = {"search": f"| tstats count where index=\"dicom\" copydicom_key IN ({keys}) by copydicom_key",
            "output_mode": "json", "earliest_time": "0"}
    assert form_encoded(form) == RequestEncodingMixin._encode_params(form)
