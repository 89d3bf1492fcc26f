from django.urls import path

from dropship.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.team, name="team"),
    path("two-factor/", views.team_mfa, name="team_mfa"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("audit/", views.audit_log, name="audit_log"),
    path("notifications/", views.notifications, name="notifications"),
    path(
        "notifications/read-all/", views.mark_all_notifications_read, name="notifications_read_all"
    ),
    path(
        "notifications/<int:notification_id>/read/",
        views.mark_notification_read,
        name="notification_read",
    ),
    path("api-keys/<int:api_key_id>/revoke/", views.revoke_api_key, name="revoke_api_key"),
    path("api-keys/<int:api_key_id>/rotate/", views.rotate_api_key, name="rotate_api_key"),
]
