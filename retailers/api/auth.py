"""Who may call the retailer API: a retailer API key (`Authorization: Bearer drk_…`) or a retailer
member's session. A supplier's key or session answers 401."""

from django.http import HttpRequest

from dropship.api import ApiKeyAuth, SessionOrganisationAuth


class RetailerKeyAuth(ApiKeyAuth):
    def authenticate(self, request: HttpRequest, token: str):
        api_key = super().authenticate(request, token)
        if api_key is None or api_key.retailer_id is None:
            return None
        return api_key


class RetailerSessionAuth(SessionOrganisationAuth):
    def authenticate(self, request: HttpRequest, key: str | None):
        user = super().authenticate(request, key)
        if user is None or request.retailer is None:
            return None
        return user


retailer_auth = [RetailerKeyAuth(), RetailerSessionAuth()]
