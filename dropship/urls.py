from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from catalog import urls as catalog_urls
from dropship.accounts import views as account_views
from dropship.api import api
from dropship.api_guide import api_guide
from dropship.core import views as core_views
from dropship.operations import operations_index
from orders.webhooks.supplier import supplier_webhook
from retailers.urls import catalog_browse_urlpatterns

admin.site.site_header = "Dropship operations"
admin.site.site_title = "Dropship admin"
admin.site.index_title = "Marketplace"
# The admin's own login form would sign staff in with a password only: it sends them to allauth's
# login, which asks for the second factor (dropship/accounts/mfa.py gates the admin on it).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
# The index is the staff operations home: what needs attention, platform figures, grouped links.
admin.site.index = operations_index(admin.site.index)  # type: ignore[method-assign,assignment]
admin.site.index_template = "admin/operations_home.html"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.health, name="health"),
    path("dashboard/", account_views.dashboard, name="dashboard"),
    path("accounts/signup/", account_views.signup, name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("team/", include("dropship.accounts.urls")),
    path("privacy/", include("privacy.urls")),
    path("view-as/end/", account_views.end_view_as, name="view_as_end"),
    path("admin/", admin.site.urls),
    path("api/v1/guide", api_guide, name="api_guide"),
    path("api/v1/", api.urls),
    path("webhooks/", include("integrations.urls")),
    path("", include("suppliers.urls")),
    # The catalog namespace spans two apps: supplier pages from catalog/, the priced browse pages
    # from retailers/ (the layer that knows retail prices).
    path("", include((catalog_urls.urlpatterns + catalog_browse_urlpatterns, "catalog"))),
    path("", include("retailers.urls")),
    path("", include("billing.urls")),
    path("supplier/orders/", include("orders.urls.supplier")),
    path("supplier/analytics/", include("orders.urls.supplier_analytics")),
    path("supplier/returns/", include("orders.urls.supplier_returns")),
    path("webhooks/supplier/<slug:slug>/", supplier_webhook, name="supplier_webhook"),
    path("", include("orders.urls.retailer")),
    path("", include("orders.urls.cases")),
    path("", include("messaging.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
