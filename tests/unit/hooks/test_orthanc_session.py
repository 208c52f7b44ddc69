"""The hook's session: pool sized for ``max_parallel``, environment read once, copied alike after a fork."""

from __future__ import annotations

from copydicom_provider.hooks.orthanc_session import pooled_session, session_like


def test_the_session_reads_the_environment_once(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    session = pooled_session(("me", "pw"), True, "http://127.0.0.1:8042", 6)
    assert session.trust_env is False
    assert session.verify == "/etc/ssl/bundle.pem"
    assert session.get_adapter("http://127.0.0.1:8042")._pool_maxsize == 8


def test_a_forked_childs_session_is_new_but_alike():
    old = pooled_session(("me", "pw"), False, "http://127.0.0.1:8042", 2)
    old.headers["X-Test"] = "1"
    new = session_like(old, 2)
    assert new is not old and new.get_adapter("http://x") is not old.get_adapter("http://x")
    assert (new.auth, new.verify, new.headers["X-Test"]) == (("me", "pw"), False, "1")
