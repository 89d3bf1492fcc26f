from django.urls import path

from messaging.views import attachments, retailer, supplier, support

app_name = "messaging"

urlpatterns = [
    path("retailer/messages/", retailer.inbox, name="retailer_inbox"),
    path("retailer/messages/<int:supplier_order_id>/", retailer.thread, name="retailer_thread"),
    path("supplier/messages/", supplier.inbox, name="supplier_inbox"),
    path("supplier/messages/<int:supplier_order_id>/", supplier.thread, name="supplier_thread"),
    path("staff/support/", support.inbox, name="support_inbox"),
    path("staff/support/threads/<int:thread_id>/", support.thread, name="support_thread"),
    path("staff/support/threads/<int:thread_id>/close/", support.close, name="support_close"),
    path(
        "messages/attachments/<int:attachment_id>/",
        attachments.download,
        name="attachment",
    ),
]
