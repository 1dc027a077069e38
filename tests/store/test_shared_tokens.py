"""Rotated tokens shared through the team-mode database: processes that find their token
rejected at the same moment refresh it once between them (the database lock), and the
others take the pair the first one stored — no single-use refresh token spent twice."""

from __future__ import annotations

import asyncio

import pytest

from flowtui.providers.tokens import Stored, TokenPair
from flowtui.store.admin import upgrade_database
from flowtui.store.tokens import SharedTokenStore

SEED = TokenPair("access-seed-000000", "refresh-seed-00000")


@pytest.fixture
def url(pg_url: str) -> str:
    upgrade_database(pg_url)
    return pg_url


def test_the_newest_pair_descends_from_its_seed(url: str) -> None:
    store = SharedTokenStore(url, "ops")
    assert store.load(SEED) == Stored(SEED)
    fresh = Stored(TokenPair("access-1111111111", "refresh-111111111"), 1)
    store.save(fresh, SEED)
    assert SharedTokenStore(url, "ops").load(SEED) == fresh
    other_seed = TokenPair("operator-put-a-new-seed", "r-new-seed-000000")
    assert store.load(other_seed) == Stored(other_seed)  # a new seed in the environment wins
    assert SharedTokenStore(url, "crm").load(SEED) == Stored(SEED)  # per account


async def test_concurrent_refreshes_spend_each_refresh_token_once(url: str) -> None:
    spent: list[str] = []

    async def platform_refresh(refresh: str) -> TokenPair:
        assert refresh not in spent, "a single-use refresh token was spent twice"
        spent.append(refresh)
        await asyncio.sleep(0.05)  # the platform's answer takes a while
        n = len(spent)
        return TokenPair(f"access-{n:012d}", f"refresh-{n:011d}")

    async def replica(name: str) -> Stored:
        store = SharedTokenStore(url, "ops")  # each replica: its own connections
        used = store.load(SEED)  # … rejected by the platform: renew
        async with store.locked():
            newest = store.load(SEED)
            if newest.generation > used.generation:
                return newest  # another replica already renewed it
            assert newest.pair.refresh is not None
            fresh = Stored(await platform_refresh(newest.pair.refresh), newest.generation + 1)
            store.save(fresh, SEED)
            return fresh

    got = await asyncio.gather(*(replica(f"r{n}") for n in range(4)))
    assert spent == [SEED.refresh]
    assert {stored.generation for stored in got} == {1}
    assert len({stored.pair for stored in got}) == 1
