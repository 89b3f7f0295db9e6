"""The Apify actor spec of every platform, keyed by platform id.

The Apify runner looks a platform up here to build a run's input and cost cap and to
read the run's dataset back into per-handle results.
"""

from __future__ import annotations

from flowkick.sources.actor_output import ActorSpec
from flowkick.sources.facebook import FacebookActor
from flowkick.sources.google_reviews import GoogleReviewsActor
from flowkick.sources.instagram import InstagramActor
from flowkick.sources.tiktok import TikTokActor
from flowkick.sources.twitter import TwitterActor
from flowkick.sources.youtube import YouTubeActor

ACTORS: dict[str, ActorSpec] = {
    spec.platform: spec
    for spec in (
        InstagramActor(),
        TikTokActor(),
        GoogleReviewsActor(),
        TwitterActor(),
        YouTubeActor(),
        FacebookActor(),
    )
}
