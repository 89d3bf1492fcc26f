from django.urls import path

from suppliers import feed_views, views

app_name = "suppliers"

urlpatterns = [
    path("supplier/", views.dashboard, name="dashboard"),
    path("supplier/application/", views.onboarding, name="onboarding"),
    path("supplier/application/<slug:step_slug>/", views.onboarding_step, name="onboarding_step"),
    path("suppliers/", views.directory, name="directory"),
    path("supplier/inventory-feed/", feed_views.feed_settings, name="feed"),
    path("suppliers/<slug:slug>/", views.profile, name="profile"),
]
