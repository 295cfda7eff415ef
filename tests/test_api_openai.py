"""The OpenAI-compatible facade, driven by the official ``openai`` client against a real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from test_api_fixtures import known_users, make_app, uvicorn_server

from evorec.serving.api.engines import Engines


@pytest.fixture(scope="module")
def base_url(api_services: Engines) -> Iterator[str]:
    with uvicorn_server(make_app(api_services)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key="unused-without-keys", max_retries=0, timeout=120)


def test_models_lists_evorec(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["evorec"]


def test_non_streaming_completion(client: openai.OpenAI, api_services: Engines) -> None:
    user = known_users(api_services, 1)[0]
    resp = client.chat.completions.create(model="evorec", user=user,
                                          messages=[{"role": "user", "content": "What should I watch next?"}])
    text = resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop" and resp.object == "chat.completion"
    structured = resp.model_extra["evorec"]
    assert structured["user_id"] == user and structured["items"]
    for item in structured["items"]:
        assert item["title"] in text


def test_streaming_completion_with_user_header(client: openai.OpenAI, api_services: Engines) -> None:
    user = known_users(api_services, 2)[1]
    stream = client.chat.completions.create(model="evorec", stream=True, extra_headers={"X-Evorec-User": user},
                                            messages=[{"role": "system", "content": "be brief"},
                                                      {"role": "user", "content": "Recommend 3 things"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    answer = chunks[-1].model_extra["evorec"]["answer"]
    assert answer["user_id"] == user
    assert all(it["title"] in text for it in answer["items"])


def test_errors_surface_as_openai_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", user="1", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="evorec user"):
        client.chat.completions.create(model="evorec", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="evorec", user="1", messages=[])
