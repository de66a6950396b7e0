"""The Chat page's input and turn markers under AppTest: refused input, drafts, failed and stopped turns."""

from __future__ import annotations

import pytest

from agent_app.i18n import t
from tests.helpers import scripted_service
from tests.scripted_model import ScriptedChatModel, answer
from tests.test_ui_apptest import _app, _button, _texts

pytestmark = pytest.mark.integration


def test_too_long_message_is_refused_with_the_cli_message_and_kept_in_the_box(settings):
    model = ScriptedChatModel(default="ok")
    svc = scripted_service(settings.with_overrides(max_input_chars=50), model)
    at = _app(svc, lang="en")
    text = "x" * 60
    at.chat_input[0].set_value(text).run()
    assert not at.exception
    said = t("error.input_too_long", "en", size=60, limit=50)  # what `agent-app chat` prints
    assert [e.value for e in at.error] == [said]
    assert at.chat_input[0].proto.value == text and at.chat_input[0].proto.set_value
    assert svc.list_threads(svc.settings.user) == [] and model.seen == []
    svc.close()


def test_failed_turns_keep_a_marker_and_the_last_one_a_retry(settings):
    from agent_app.errors import ProviderUnavailableError, RateLimitedError

    model = ScriptedChatModel(
        script=[RateLimitedError("429"), ProviderUnavailableError("500"), answer("Third time.")]
    )
    svc = scripted_service(settings.with_overrides(max_retries=0), model)
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("first").run()
    at.chat_input[0].set_value("second").run()
    reloaded = _app(svc, lang="en")
    earlier = [c.value for c in reloaded.caption if "did not finish" in c.value]
    assert len(earlier) == 1 and "busy" in earlier[0]  # the first failure, still visible
    assert [b.key for b in reloaded.button if b.key == "retry"] == ["retry"]  # on the last only
    _button(reloaded, "retry").click().run()
    assert "Third time." in _texts(reloaded)
    assert not [b for b in reloaded.button if b.key == "retry"]
    assert len([c for c in reloaded.caption if "did not finish" in c.value]) == 1
    svc.close()
