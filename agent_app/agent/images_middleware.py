"""BlindModelMiddleware: a model that cannot see gets a short note in place of each stored image."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import AnyMessage, HumanMessage

from agent_app.agent.async_twins import async_twins

IMAGE_BLOCKS = ("image_url", "image")


def is_image(block: Any) -> bool:
    """Whether a content block is an image (OpenAI `image_url` or LangChain's standard `image`)."""
    return isinstance(block, dict) and block.get("type") in IMAGE_BLOCKS


def without_images(message: AnyMessage, note: str) -> AnyMessage:
    """The message with each image block replaced by `note` (the same message if it has none)."""
    content = message.content
    if not isinstance(message, HumanMessage) or not isinstance(content, list):
        return message
    if not any(is_image(b) for b in content):
        return message
    blocks = [{"type": "text", "text": note} if is_image(b) else b for b in content]
    return message.model_copy(update={"content": blocks})


@async_twins
class BlindModelMiddleware(AgentMiddleware):
    """After a turn with images went to a vision model, the conversation's own model reads on."""

    def __init__(self, note: str) -> None:
        super().__init__()
        self.note = note

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Send the history with notes in place of images (providers refuse images to such models)."""
        messages = [without_images(m, self.note) for m in request.messages]
        if all(a is b for a, b in zip(messages, request.messages, strict=True)):
            return handler(request)
        return handler(request.override(messages=messages))
