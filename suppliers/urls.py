from django.urls import path

from suppliers.views import profile, public, supplier

app_name = "suppliers"

urlpatterns = [
    path("supplier/", supplier.dashboard, name="dashboard"),
    path("supplier/application/", supplier.onboarding, name="onboarding"),
    path(
        "supplier/application/<slug:step_slug>/", supplier.onboarding_step, name="onboarding_step"
    ),
    path("suppliers/", public.directory, name="directory"),
    path("supplier/inventory-feed/", supplier.feed_settings, name="feed"),
    path("supplier/profile/", profile.profile_settings, name="profile_settings"),
    path("supplier/return-policy/", supplier.return_policy, name="return_policy"),
    path("suppliers/<slug:slug>/", public.profile, name="profile"),
]
