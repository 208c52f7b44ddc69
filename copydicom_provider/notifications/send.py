"""The configured notifier, built and called with the message: SMTP by name, any other by class path.

Why through templates: a notifier renders its fields with Jinja before it sends, so the message
goes in the context (``copydicom_message``) and the fields only refer to it. The message itself is
never rendered: a reason holding ``{{`` cannot run a template.
"""

from __future__ import annotations

import importlib
from typing import Any

from copydicom_provider.errors import ConfigurationError
from copydicom_provider.notifications.message import Message
from copydicom_provider.notifications.settings import SMTP, NotifySettings

#: Where a notifier's templates find the message.
MESSAGE_KEY = "copydicom_message"


def build_notifier(settings: NotifySettings) -> Any:
    """The notifier ``settings`` name (a ``BaseNotifier``)."""
    if settings.notifier == SMTP:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        return SmtpNotifier(subject=f"{{{{ {MESSAGE_KEY}.subject }}}}", html_content=f"{{{{ {MESSAGE_KEY}.html }}}}",
                            **settings.kwargs)
    module_name, _, class_name = settings.notifier.rpartition(".")
    try:
        notifier_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(f"Variable {settings.variable}: notifier {settings.notifier!r} cannot be imported "
                                 f"({type(error).__name__})") from None
    return notifier_class(**settings.kwargs)


def send(settings: NotifySettings, message: Message, context: dict[str, Any]) -> None:
    """Build the notifier and let it render and send ``message`` (a notifier logs its own failures).

    ``dag.test()`` hands the callback the scheduler's serialized DAG, which has no template
    environment: without it the notifier renders with Airflow's default one.
    """
    context = dict(context) | {MESSAGE_KEY: message}
    if not hasattr(context.get("dag"), "get_template_env"):
        context.pop("dag", None)
    build_notifier(settings)(context)
