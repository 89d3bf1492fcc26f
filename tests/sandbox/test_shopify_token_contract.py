"""The Shopify sandbox's token endpoint and API follow shopify.dev on expiring offline tokens:
expiry, the refresh grant, rotation, revocation and the 2027-01-01 rule."""

import requests

SHOP = "maple-and-co.myshopify.com"
QUERY = {"query": "query { shop { name } }"}


def _graphql(sandbox, token: str) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}/{SHOP}/admin/api/2025-07/graphql.json",
        json=QUERY,
        headers={"X-Shopify-Access-Token": token},
        timeout=5,
    )


def _refresh(sandbox, settings, refresh_token: str) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}/{SHOP}/admin/oauth/access_token",
        json={
            "client_id": settings.SHOPIFY_API_KEY,
            "client_secret": settings.SHOPIFY_API_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
        timeout=5,
    )


def test_an_access_token_dies_after_an_hour_with_shopifys_401(shopify_sandbox):
    pair = shopify_sandbox.app.issue_expiring_token(SHOP)
    assert (pair["expires_in"], pair["refresh_token_expires_in"]) == (3600, 90 * 86400)
    assert _graphql(shopify_sandbox, pair["access_token"]).status_code == 200

    shopify_sandbox.clock.advance(3600)

    answer = _graphql(shopify_sandbox, pair["access_token"])
    assert answer.status_code == 401
    assert answer.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_the_refresh_grant_rotates_and_retires_the_old_refresh_token_once_the_new_is_used(
    shopify_sandbox, settings
):
    first = shopify_sandbox.app.issue_expiring_token(SHOP)
    second = _refresh(shopify_sandbox, settings, first["refresh_token"]).json()
    assert _graphql(shopify_sandbox, second["access_token"]).status_code == 200
    # Until the replacement is used, the old refresh token is still honoured (a lost answer
    # can be recovered) and using it again supersedes the replacement issued before.
    third = _refresh(shopify_sandbox, settings, first["refresh_token"]).json()
    assert _refresh(shopify_sandbox, settings, second["refresh_token"]).status_code == 400

    fourth = _refresh(shopify_sandbox, settings, third["refresh_token"])

    assert fourth.status_code == 200
    refused = _refresh(shopify_sandbox, settings, first["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


def test_revoked_refresh_tokens_are_refused(shopify_sandbox, settings):
    pair = shopify_sandbox.app.issue_expiring_token(SHOP)
    shopify_sandbox.app.revoke_refresh_tokens(SHOP)

    answer = _refresh(shopify_sandbox, settings, pair["refresh_token"])

    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_non_expiring_tokens_are_refused_once_expiring_ones_are_required(shopify_sandbox):
    legacy = shopify_sandbox.app.issue_token(SHOP)
    assert _graphql(shopify_sandbox, legacy).status_code == 200

    shopify_sandbox.app.require_expiring_tokens()

    assert _graphql(shopify_sandbox, legacy).status_code == 401
    fresh = shopify_sandbox.app.issue_expiring_token(SHOP)["access_token"]
    assert _graphql(shopify_sandbox, fresh).status_code == 200


def _exchange(sandbox, settings, subject_token: str) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}/{SHOP}/admin/oauth/access_token",
        json={
            "client_id": settings.SHOPIFY_API_KEY,
            "client_secret": settings.SHOPIFY_API_SECRET,
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": subject_token,
            "subject_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
            "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
            "expiring": "1",
        },
        timeout=5,
    )


def test_the_token_exchange_migrates_a_non_expiring_token_and_retires_it(shopify_sandbox, settings):
    old = shopify_sandbox.app.issue_token(SHOP)

    answer = _exchange(shopify_sandbox, settings, old)

    assert answer.status_code == 200
    pair = answer.json()
    assert (pair["expires_in"], pair["refresh_token_expires_in"]) == (3600, 90 * 86400)
    assert _graphql(shopify_sandbox, pair["access_token"]).status_code == 200
    assert _graphql(shopify_sandbox, old).status_code == 401  # the old token is done


def test_exchanging_the_old_token_again_answers_the_same_pair_for_seven_days_until_refreshed(
    shopify_sandbox, settings
):
    old = shopify_sandbox.app.issue_token(SHOP)
    pair = _exchange(shopify_sandbox, settings, old).json()

    shopify_sandbox.clock.advance(3 * 86400)  # the access token ran out meanwhile
    again = _exchange(shopify_sandbox, settings, old).json()

    assert (again["access_token"], again["refresh_token"]) == (
        pair["access_token"],
        pair["refresh_token"],
    )
    assert 87 * 86400 - 5 <= again["refresh_token_expires_in"] <= 87 * 86400  # not extended
    assert _graphql(shopify_sandbox, again["access_token"]).status_code == 200
    assert _refresh(shopify_sandbox, settings, pair["refresh_token"]).status_code == 200
    refused = _exchange(shopify_sandbox, settings, old)  # the pair was refreshed: no recovery
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


def test_no_recovery_after_seven_days_and_no_exchange_after_the_2027_cutoff(
    shopify_sandbox, settings
):
    old = shopify_sandbox.app.issue_token(SHOP)
    _exchange(shopify_sandbox, settings, old)
    shopify_sandbox.clock.advance(7 * 86400 + 1)
    assert _exchange(shopify_sandbox, settings, old).status_code == 400

    late = shopify_sandbox.app.issue_token(SHOP)
    shopify_sandbox.app.require_expiring_tokens()
    assert _exchange(shopify_sandbox, settings, late).status_code == 400
    assert _exchange(shopify_sandbox, settings, "shpat_unknown").status_code == 400
