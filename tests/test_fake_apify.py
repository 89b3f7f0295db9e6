"""The fake Apify server speaks the v2 API well enough for the official client.

Every test drives the fake with `ApifyClientAsync` (or raw httpx where the client hides
the wire), so a refresher test that passes against the fake exercises the real client.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import timedelta
from typing import Any

import anyio
import httpx
import pytest
from apify_client.errors import ApifyApiError

from tests.support.fake_apify import ACTORS, MALFORMED_ITEMS, FakeApify, WebhookReceiver, example_input

INSTAGRAM = "apify/instagram-scraper"
HANDLES = ["lunacafe.berlin", "panaderia.sol"]

pytestmark = pytest.mark.anyio

# How each platform's items name the account they came from (shared/apify/actors.md).
OWNER = {
    "instagram": lambda item: item["inputUrl"].rstrip("/").rsplit("/", 1)[-1],
    "tiktok": lambda item: item["input"],
    "google_reviews": lambda item: item["placeId"],
    "twitter": lambda item: item["author"]["userName"],
    "youtube": lambda item: item["channelUsername"],
    "facebook": lambda item: item["inputUrl"].rsplit("/", 1)[-1],
}
POSTS = 20  # what every account of the fake has posted


async def call(fake: FakeApify, actor: str = INSTAGRAM, run_input: dict[str, Any] | None = None, **options: Any) -> Any:
    run_input = run_input if run_input is not None else example_input("instagram", HANDLES, 3)
    return await fake.client().actor(actor).call(run_input=run_input, logger=None, **options)


async def items_of(fake: FakeApify, run: Any) -> list[Any]:
    return [item async for item in fake.client().dataset(run.default_dataset_id).iterate_items()]


def raw(fake: FakeApify, method: str, path: str, *, token: str | None = "default", **kwargs: Any) -> httpx.Response:
    """One request straight to the fake, for what the client hides (status codes, headers)."""
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {fake.token if token == 'default' else token}"
    with httpx.Client(base_url=fake.url, trust_env=False) as http:
        return http.request(method, path, headers=headers, **kwargs)


# --- runs and items ---------------------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: a.platform)
async def test_each_actor_returns_the_latest_items_of_every_handle(fake_apify: FakeApify, actor: Any) -> None:
    run = await call(fake_apify, actor.name, example_input(actor.platform, HANDLES, 2))
    items = await items_of(fake_apify, run)
    per_tab = 2 if actor.platform == "youtube" else 1  # videos and shorts have separate limits
    per_handle = POSTS if actor.platform == "twitter" else 2 * per_tab  # X: at least 50 a query
    owners = sorted(OWNER[actor.platform](item) for item in items)
    assert run.status == "SUCCEEDED"
    if actor.platform == "facebook":  # `resultsLimit` counts for the whole run: the first page takes it
        assert owners == [HANDLES[0]] * 2 * len(HANDLES)
    else:
        assert owners == sorted(HANDLES * per_handle)


async def test_items_are_the_same_for_the_same_handle_in_every_run(fake_apify: FakeApify) -> None:
    first = await items_of(fake_apify, await call(fake_apify))
    second = await items_of(fake_apify, await call(fake_apify))
    assert [item["id"] for item in first] == [item["id"] for item in second]


async def test_sample_hostile_captions_reach_generated_items(fake_apify: FakeApify) -> None:
    run = await call(fake_apify, run_input=example_input("instagram", ["any.cafe"], 20))
    captions = " ".join(item.get("caption") or "" for item in await items_of(fake_apify, run))
    assert "<script>alert(1)</script>" in captions and '"pan de masa madre" &' in captions


async def test_instagram_feed_includes_a_collab_post_owned_by_another_account(fake_apify: FakeApify) -> None:
    run = await call(fake_apify, run_input=example_input("instagram", ["any.cafe"], 7))
    owners = {item["ownerUsername"] for item in await items_of(fake_apify, run)}
    assert owners == {"any.cafe", "kreuzberg.brunchclub"}


async def test_max_items_caps_the_whole_run(fake_apify: FakeApify) -> None:
    run = await call(fake_apify, max_items=4)
    assert len(await items_of(fake_apify, run)) == 4
    assert fake_apify.runs[0].max_items == 4


async def test_tweet_scraper_max_items_input_is_for_the_whole_run(fake_apify: FakeApify) -> None:
    run_input = {"twitterHandles": HANDLES, "maxItems": 100, "sort": "Latest"}
    fake_apify.world.set_post_count("twitter", HANDLES[0], 90)
    run = await call(fake_apify, "apidojo/tweet-scraper", run_input)
    assert len(await items_of(fake_apify, run)) == 100


async def test_tweet_scraper_below_50_per_query_answers_only_no_results_rows(fake_apify: FakeApify) -> None:
    run_input = {"searchTerms": [f"from:{h}" for h in HANDLES], "maxItems": 99, "sort": "Latest"}
    run = await call(fake_apify, "apidojo/tweet-scraper", run_input)
    assert await items_of(fake_apify, run) == [{"noResults": True}, {"noResults": True}]


async def test_tweet_search_start_filters_by_day_and_an_empty_query_gets_a_no_results_row(fake_apify: FakeApify) -> None:
    fake_apify.world.publish("twitter", HANDLES[0], 2)  # 20 h apart, after the base time
    newest = fake_apify.world.posted_at("twitter", HANDLES[0], POSTS + 1)
    run_input = {"searchTerms": [f"from:{h}" for h in HANDLES], "maxItems": 100, "start": f"{newest:%Y-%m-%d}",
                 "includeSearchTerms": True}
    items = await items_of(fake_apify, await call(fake_apify, "apidojo/tweet-scraper", run_input))
    assert {item.get("searchTerm") for item in items if "id" in item} == {f"from:{HANDLES[0]}"}
    assert [item for item in items if "id" not in item] == [{"noResults": True}]


async def test_tweet_search_start_must_be_a_day(fake_apify: FakeApify) -> None:
    run_input = {"searchTerms": ["from:a"], "maxItems": 50, "start": "2026-11-20T08:00:00Z"}
    with pytest.raises(ApifyApiError, match="YYYY-MM-DD"):
        await call(fake_apify, "apidojo/tweet-scraper", run_input)


@pytest.mark.parametrize(("actor", "field"), [
    ("apify/instagram-scraper", "onlyPostsNewerThan"),
    ("clockworks/tiktok-scraper", "oldestPostDateUnified"),
    ("compass/google-maps-reviews-scraper", "reviewsStartDate"),
    ("apify/facebook-posts-scraper", "onlyPostsNewerThan"),
])
async def test_date_filter_returns_only_newer_items(fake_apify: FakeApify, actor: str, field: str) -> None:
    platform = next(a.platform for a in ACTORS if a.name == actor)
    handle = "ChIJLunaCafeBerlin01" if platform == "google_reviews" else HANDLES[0]
    fake_apify.world.publish(platform, handle, 2)
    since = fake_apify.world.posted_at(platform, handle, POSTS - 1)
    run_input = {**example_input(platform, [handle], 24), field: f"{since:%Y-%m-%dT%H:%M:%SZ}"}
    items = await items_of(fake_apify, await call(fake_apify, actor, run_input))
    assert len(items) == 2


async def test_pinned_post_comes_first_whatever_its_age_and_takes_a_slot(fake_apify: FakeApify) -> None:
    fake_apify.world.pin("instagram", HANDLES[0], 2)
    items = await items_of(fake_apify, await call(fake_apify, run_input=example_input("instagram", HANDLES[:1], 3)))
    assert [item["isPinned"] for item in items] == [True, False, False]
    assert items[0]["timestamp"] < items[2]["timestamp"]


async def test_date_filter_leaves_an_old_pinned_post_out(fake_apify: FakeApify) -> None:
    fake_apify.world.pin("instagram", HANDLES[0], 2)
    fake_apify.world.publish("instagram", HANDLES[0])
    since = fake_apify.world.posted_at("instagram", HANDLES[0], POSTS - 1)
    run_input = {**example_input("instagram", HANDLES[:1], 24), "onlyPostsNewerThan": f"{since:%Y-%m-%dT%H:%M:%SZ}"}
    items = await items_of(fake_apify, await call(fake_apify, run_input=run_input))
    assert [item["isPinned"] for item in items] == [False]


async def test_all_review_origins_mix_in_other_sites_and_google_only_does_not(fake_apify: FakeApify) -> None:
    actor = "compass/google-maps-reviews-scraper"
    base = example_input("google_reviews", ["ChIJLunaCafeBerlin01"], 6)
    mixed = await items_of(fake_apify, await call(fake_apify, actor, base))
    google = await items_of(fake_apify, await call(fake_apify, actor, {**base, "reviewsOrigin": "google"}))
    assert {item["reviewOrigin"] for item in mixed} == {"Google", "Tripadvisor"}
    assert {item["reviewOrigin"] for item in google} == {"Google"}


async def test_a_place_can_change_its_id(fake_apify: FakeApify) -> None:
    fake_apify.world.change_place_id("ChIJOld", "ChIJNew")
    run_input = example_input("google_reviews", ["ChIJOld"], 2)
    items = await items_of(fake_apify, await call(fake_apify, "compass/google-maps-reviews-scraper", run_input))
    assert {item["placeId"] for item in items} == {"ChIJNew"} and items[0]["url"].endswith("ChIJNew")


async def test_youtube_channel_tab_decides_what_is_read(fake_apify: FakeApify) -> None:
    urls = [{"url": "https://www.youtube.com/@luna/shorts"}]
    run_input = {"startUrls": urls, "maxResults": 3, "maxResultsShorts": 0}
    items = await items_of(fake_apify, await call(fake_apify, "streamers/youtube-scraper", run_input))
    assert [item["type"] for item in items] == ["shorts"] * 3


async def test_youtube_can_date_videos_relatively(fake_apify: FakeApify) -> None:
    fake_apify.world.date_relatively("youtube", "luna")
    run_input = {"startUrls": [{"url": "https://www.youtube.com/@luna/videos"}], "maxResults": 1}
    (item,) = await items_of(fake_apify, await call(fake_apify, "streamers/youtube-scraper", run_input))
    assert item["date"].endswith(" days ago")


async def test_facebook_results_limit_counts_for_the_whole_run(fake_apify: FakeApify) -> None:
    run_input = {"startUrls": [{"url": f"https://www.facebook.com/{h}"} for h in HANDLES], "resultsLimit": 3}
    items = await items_of(fake_apify, await call(fake_apify, "apify/facebook-posts-scraper", run_input))
    assert [OWNER["facebook"](item) for item in items] == [HANDLES[0]] * 3


async def test_facebook_media_drift_and_p_pages(fake_apify: FakeApify) -> None:
    page = "https://www.facebook.com/p/Luna-Cafe-100063123456789/"
    run_input = {"startUrls": [{"url": page}], "resultsLimit": 20}
    items = await items_of(fake_apify, await call(fake_apify, "apify/facebook-posts-scraper", run_input))
    entries = [entry for item in items for entry in item.get("media") or []]
    assert {item["pageName"] for item in items} == {"p"}
    assert any("image" in entry for entry in entries) and any("__typename" not in entry for entry in entries)


async def test_facebook_error_row_carries_url_not_input_url(fake_apify: FakeApify) -> None:
    fake_apify.world.remove("facebook", "gone.page")
    run_input = {"startUrls": [{"url": "https://www.facebook.com/gone.page"}], "resultsLimit": 5}
    (row,) = await items_of(fake_apify, await call(fake_apify, "apify/facebook-posts-scraper", run_input))
    assert row["url"] == "https://www.facebook.com/gone.page" and "inputUrl" not in row


async def test_removed_handle_gets_the_actors_error_row(fake_apify: FakeApify) -> None:
    fake_apify.world.remove("instagram", "panaderia.sol")
    items = await items_of(fake_apify, await call(fake_apify))
    errors = [item for item in items if "error" in item]
    assert errors == [{"inputUrl": "https://www.instagram.com/panaderia.sol/", "error": "not_found",
                       "errorDescription": "The account does not exist or is not available"}]


async def test_removed_x_handle_gets_a_no_results_row(fake_apify: FakeApify) -> None:
    fake_apify.world.remove("twitter", "PanaderiaSol")
    run = await call(fake_apify, "apidojo/tweet-scraper", {"twitterHandles": ["PanaderiaSol"], "maxItems": 5})
    assert await items_of(fake_apify, run) == [{"noResults": True}]


async def test_substituted_items_are_served_verbatim(fake_apify: FakeApify) -> None:
    hostile = fake_apify.make_items("instagram", "lunacafe.berlin", 1)
    hostile[0]["caption"] = "<img src=x onerror=alert(1)>" + "x" * 5000
    fake_apify.world.set_items("instagram", "lunacafe.berlin", [*hostile, "just a string"])
    items = await items_of(fake_apify, await call(fake_apify, run_input=example_input("instagram", ["lunacafe.berlin"], 5)))
    assert items == [*hostile, "just a string"]


async def test_published_post_comes_first_and_is_newest(fake_apify: FakeApify) -> None:
    before = await items_of(fake_apify, await call(fake_apify, run_input=example_input("instagram", ["any.cafe"], 3)))
    fake_apify.world.publish("instagram", "any.cafe")
    after = await items_of(fake_apify, await call(fake_apify, run_input=example_input("instagram", ["any.cafe"], 3)))
    assert [item["id"] for item in after[1:]] == [item["id"] for item in before[:2]]
    assert after[0]["timestamp"] > before[0]["timestamp"]


async def test_invalid_input_is_rejected_with_400(fake_apify: FakeApify) -> None:
    with pytest.raises(ApifyApiError) as raised:
        await call(fake_apify, run_input={"usernames": HANDLES})
    assert (raised.value.status_code, raised.value.type) == (400, "invalid-input")


async def test_unknown_actor_is_404(fake_apify: FakeApify) -> None:
    with pytest.raises(ApifyApiError) as raised:
        await call(fake_apify, "nobody/no-such-scraper")
    assert raised.value.status_code == 404


# --- the run object and its lifecycle -----------------------------------------------------


async def test_start_answers_201_with_a_ready_run(fake_apify: FakeApify) -> None:
    response = raw(fake_apify, "POST", "/v2/actors/apify~instagram-scraper/runs", json=example_input("instagram", HANDLES, 1))
    assert response.status_code == 201
    assert response.json()["data"]["status"] == "READY"
    assert response.headers["location"].endswith(f"/v2/actor-runs/{response.json()['data']['id']}")


async def test_legacy_acts_path_starts_runs_too(fake_apify: FakeApify) -> None:
    response = raw(fake_apify, "POST", "/v2/acts/apify~instagram-scraper/runs", json=example_input("instagram", HANDLES, 1))
    assert response.status_code == 201


async def test_gzipped_run_input_is_decoded(fake_apify: FakeApify) -> None:
    run_input = example_input("instagram", HANDLES, 1)
    body = gzip.compress(json.dumps(run_input).encode())
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json; charset=utf-8"}
    raw(fake_apify, "POST", "/v2/actors/apify~instagram-scraper/runs", content=body, headers=headers)
    assert fake_apify.runs[0].input == run_input


async def test_large_input_from_the_client_arrives_intact(fake_apify: FakeApify) -> None:
    run_input = example_input("instagram", [f"cafe.number.{n}" for n in range(60)], 1)  # > 1 KiB: gzipped
    await call(fake_apify, run_input=run_input)
    assert fake_apify.runs[0].input == run_input


async def test_pay_per_result_run_carries_its_pricing_and_no_usage_total(fake_apify: FakeApify) -> None:
    run = await call(fake_apify)
    assert run.usage_total_usd is None and run.general_access is not None
    assert (run.pricing_info.pricing_model, run.pricing_info.price_per_unit_usd) == ("PRICE_PER_DATASET_ITEM", 0.0027)
    assert fake_apify.runs[0].charged_usd == pytest.approx(0.0027 * 6)


async def test_pay_per_event_run_reports_its_charged_events(fake_apify: FakeApify) -> None:
    run_input = {"startUrls": [{"url": "https://www.youtube.com/@luna/videos"}], "maxResults": 2}
    run = await call(fake_apify, "streamers/youtube-scraper", run_input)
    assert run.pricing_info.pricing_model == "PAY_PER_EVENT"
    assert run.charged_event_counts == {"actor-start": 1, "result": 2}


async def test_max_total_charge_stops_the_run_at_what_it_may_charge(fake_apify: FakeApify) -> None:
    run = await call(fake_apify, max_total_charge_usd=0.01)
    assert len(await items_of(fake_apify, run)) == 3  # 3 × $0.0027 fit in $0.01
    assert run.options.max_total_charge_usd == 0.01


async def test_query_options_are_recorded_and_echoed(fake_apify: FakeApify) -> None:
    run = await call(fake_apify, memory_mbytes=512, run_timeout=timedelta(seconds=120), max_items=10)
    assert (run.options.memory_mbytes, run.options.timeout_secs, run.options.max_items) == (512, 120, 10)
    assert fake_apify.runs[0].query == {"maxItems": "10", "memory": "512", "timeout": "120"}


async def test_get_run_waits_for_finish(fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(duration=0.3)
    client = fake_apify.client()
    started = await client.actor(INSTAGRAM).start(run_input=example_input("instagram", HANDLES, 1))
    finished = await client.run(started.id).wait_for_finish()
    assert (started.status, finished.status) == ("READY", "SUCCEEDED")
    assert [r.query.get("waitForFinish") for r in fake_apify.requests if r.kind == "get"] == ["999999"]


async def test_failed_run_is_returned_by_call_with_an_empty_dataset(fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(status="FAILED")
    run = await call(fake_apify)
    assert run.status == "FAILED"
    assert await items_of(fake_apify, run) == []


async def test_plan_applies_only_to_the_named_actor(fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(status="ABORTED", actor="clockworks/tiktok-scraper")
    instagram = await call(fake_apify)
    tiktok = await call(fake_apify, "clockworks/tiktok-scraper", example_input("tiktok", HANDLES, 1))
    assert (instagram.status, tiktok.status) == ("SUCCEEDED", "ABORTED")


async def test_run_longer_than_its_timeout_ends_timed_out(fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(duration=5)
    run = await call(fake_apify, run_timeout=timedelta(seconds=1))
    assert run.status == "TIMED-OUT"


async def test_aborting_a_running_run_ends_it_aborted(fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(duration=5)
    client = fake_apify.client()
    started = await client.actor(INSTAGRAM).start(run_input=example_input("instagram", HANDLES, 1))
    aborted = await client.run(started.id).abort()
    assert aborted.status == "ABORTED"


async def test_empty_dataset_can_be_planned(fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(items=[])
    assert await items_of(fake_apify, await call(fake_apify)) == []


async def test_malformed_dataset_can_be_planned(fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(items=MALFORMED_ITEMS)
    assert await items_of(fake_apify, await call(fake_apify)) == MALFORMED_ITEMS


async def test_unknown_run_id_reads_as_none(fake_apify: FakeApify) -> None:
    assert await fake_apify.client().run("NoSuchRun00000000").get() is None


async def test_actor_and_log_endpoints_are_404(fake_apify: FakeApify) -> None:
    run = await call(fake_apify)
    actor = raw(fake_apify, "GET", "/v2/actors/apify~instagram-scraper")
    log = raw(fake_apify, "GET", f"/v2/actor-runs/{run.id}/log")
    assert (actor.status_code, log.status_code) == (404, 404)
    assert actor.json()["error"]["type"] == "record-not-found"


# --- authentication and injected request faults ------------------------------------------


async def test_missing_token_is_401_token_not_provided(fake_apify: FakeApify) -> None:
    response = raw(fake_apify, "GET", "/v2/actor-runs/anything", token=None)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "token-not-provided"


async def test_wrong_token_makes_the_client_raise(fake_apify: FakeApify) -> None:
    with pytest.raises(ApifyApiError) as raised:
        await fake_apify.client(token="stolen").actor(INSTAGRAM).call(run_input={}, logger=None)
    assert (raised.value.status_code, raised.value.type) == (401, "user-or-token-not-found")


async def test_rate_limit_storm_is_retried_by_the_client(fake_apify: FakeApify) -> None:
    fake_apify.fail_requests(3, status=429, kind="start")
    run = await call(fake_apify)
    starts = [r.status_code for r in fake_apify.requests if r.kind == "start"]
    assert (run.status, starts) == ("SUCCEEDED", [429, 429, 429, 201])


async def test_server_errors_beyond_the_retry_budget_reach_the_caller(fake_apify: FakeApify) -> None:
    fake_apify.fail_requests(3, status=500, kind="items")
    run = await call(fake_apify)
    with pytest.raises(ApifyApiError) as raised:
        await fake_apify.client(max_retries=1).dataset(run.default_dataset_id).list_items()
    assert raised.value.status_code == 500


# --- dataset pagination -------------------------------------------------------------------


async def test_items_page_carries_all_five_pagination_headers(fake_apify: FakeApify) -> None:
    run = await call(fake_apify)
    response = raw(fake_apify, "GET", f"/v2/datasets/{run.default_dataset_id}/items", params={"offset": 2, "limit": 3, "desc": "true"})
    pagination = {k.removeprefix("x-apify-pagination-"): v for k, v in response.headers.items() if k.startswith("x-apify-pagination-")}
    assert pagination == {"total": "6", "offset": "2", "limit": "3", "count": "3", "desc": "true"}


async def test_desc_offset_and_limit_select_the_page(fake_apify: FakeApify) -> None:
    run = await call(fake_apify)
    everything = await items_of(fake_apify, run)
    page = await fake_apify.client().dataset(run.default_dataset_id).list_items(offset=1, limit=2, desc=True)
    assert page.items == everything[::-1][1:3]


async def test_page_past_the_end_is_empty_with_count_zero(fake_apify: FakeApify) -> None:
    run = await call(fake_apify)
    response = raw(fake_apify, "GET", f"/v2/actor-runs/{run.id}/dataset/items", params={"offset": 50})
    assert (response.json(), response.headers["x-apify-pagination-count"]) == ([], "0")


async def test_fields_and_omit_shape_items(fake_apify: FakeApify) -> None:
    run = await call(fake_apify)
    dataset = fake_apify.client().dataset(run.default_dataset_id)
    picked = await dataset.list_items(fields=["id", "url", "caption"], omit=["caption"], limit=1)
    assert list(picked.items[0]) == ["id", "url"]


async def test_clean_skips_empty_items_and_hidden_fields(fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(items=[{}, {"id": "1", "#debug": "x"}])
    run = await call(fake_apify)
    page = await fake_apify.client().dataset(run.default_dataset_id).list_items(clean=True)
    assert (page.items, page.count) == ([{"id": "1"}], 2)


# --- webhooks -----------------------------------------------------------------------------


def hook(receiver: WebhookReceiver, **extra: Any) -> list[dict[str, Any]]:
    events = ["ACTOR.RUN.SUCCEEDED", "ACTOR.RUN.FAILED", "ACTOR.RUN.TIMED_OUT", "ACTOR.RUN.ABORTED"]
    return [{"event_types": events, "request_url": receiver.url, **extra}]


async def test_webhook_delivers_the_default_payload_with_apify_headers(
    fake_apify: FakeApify, webhook_receiver: WebhookReceiver
) -> None:
    run = await call(fake_apify, webhooks=hook(webhook_receiver, headers_template='{"X-Hook-Secret": "s3cret"}'))
    [received] = await webhook_receiver.calls.wait_for_async(1)
    payload = received.json()
    assert (payload["eventType"], payload["eventData"]["actorRunId"], payload["resource"]["status"]) == (
        "ACTOR.RUN.SUCCEEDED", run.id, "SUCCEEDED")
    assert received.headers["x-apify-webhook-dispatch-id"] and received.headers["x-apify-webhook"]
    assert received.headers["x-hook-secret"] == "s3cret"
    assert received.headers["x-apify-request-origin"] == "WEBHOOK"


async def test_webhooks_query_is_decoded_into_the_run_record(fake_apify: FakeApify, webhook_receiver: WebhookReceiver) -> None:
    await call(fake_apify, webhooks=hook(webhook_receiver))
    assert fake_apify.runs[0].webhooks[0]["requestUrl"] == webhook_receiver.url


async def test_webhook_fires_only_for_its_event_types(fake_apify: FakeApify, webhook_receiver: WebhookReceiver) -> None:
    fake_apify.plan_runs(status="FAILED")
    webhooks = [{"event_types": ["ACTOR.RUN.SUCCEEDED"], "request_url": webhook_receiver.url}]
    await call(fake_apify, webhooks=webhooks)
    await call(fake_apify, webhooks=webhooks)
    [received] = await webhook_receiver.calls.wait_for_async(1)
    assert received.json()["eventType"] == "ACTOR.RUN.SUCCEEDED"


async def test_failed_delivery_is_retried_under_the_same_dispatch_id(
    fake_apify: FakeApify, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next(2, status=503)
    await call(fake_apify, webhooks=hook(webhook_receiver))
    calls = await webhook_receiver.calls.wait_for_async(3)
    assert [c.status_code for c in calls] == [503, 503, 200]
    assert len({c.headers["x-apify-webhook-dispatch-id"] for c in calls}) == 1


async def test_duplicate_delivery_repeats_the_dispatch(fake_apify: FakeApify, webhook_receiver: WebhookReceiver) -> None:
    fake_apify.plan_runs(webhooks="duplicate")
    await call(fake_apify, webhooks=hook(webhook_receiver))
    first, second = await webhook_receiver.calls.wait_for_async(2)
    assert first.body == second.body
    assert first.headers["x-apify-webhook-dispatch-id"] == second.headers["x-apify-webhook-dispatch-id"]


async def test_dropped_delivery_never_arrives(fake_apify: FakeApify, webhook_receiver: WebhookReceiver) -> None:
    fake_apify.plan_runs(webhooks="drop")
    await call(fake_apify, webhooks=hook(webhook_receiver))
    await call(fake_apify, webhooks=hook(webhook_receiver))  # delivered: proves the first one had its chance
    await webhook_receiver.calls.wait_for_async(1)
    await anyio.sleep(0.2)
    assert len(webhook_receiver.calls.snapshot()) == 1


async def test_webhook_to_a_non_loopback_host_is_refused(fake_apify: FakeApify) -> None:
    await call(fake_apify, webhooks=[{"event_types": ["ACTOR.RUN.SUCCEEDED"], "request_url": "http://192.0.2.1/hook"}])
    [delivery] = await fake_apify.wait_for_deliveries_async(1)
    assert delivery.status_code is None and delivery.error.startswith("refused")


async def test_undecodable_webhooks_parameter_is_400(fake_apify: FakeApify) -> None:
    bad = base64.b64encode(b'{"not": "a list"}').decode()
    response = raw(fake_apify, "POST", "/v2/actors/apify~instagram-scraper/runs", params={"webhooks": bad}, json={})
    assert (response.status_code, response.json()["error"]["type"]) == (400, "invalid-value")


async def test_created_event_fires_when_the_run_starts(fake_apify: FakeApify, webhook_receiver: WebhookReceiver) -> None:
    fake_apify.plan_runs(duration=0.3)
    client = fake_apify.client()
    webhooks = [{"event_types": ["ACTOR.RUN.CREATED"], "request_url": webhook_receiver.url}]
    await client.actor(INSTAGRAM).start(run_input=example_input("instagram", HANDLES, 1), webhooks=webhooks)
    [received] = await webhook_receiver.calls.wait_for_async(1)
    assert received.json()["resource"]["status"] == "READY"


# --- between tests ------------------------------------------------------------------------


async def test_reset_forgets_runs_plans_and_world_changes(fake_apify: FakeApify) -> None:
    fake_apify.world.remove("instagram", "panaderia.sol")
    fake_apify.plan_runs(status="FAILED")
    await call(fake_apify)
    fake_apify.plan_runs(status="FAILED")
    fake_apify.reset()
    run = await call(fake_apify)
    assert (run.status, fake_apify.run_count(), len(await items_of(fake_apify, run))) == ("SUCCEEDED", 1, 6)
