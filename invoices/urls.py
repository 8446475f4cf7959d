from django.urls import path

from .views import dashboard, export, live, preferences, sync

app_name = "invoices"

urlpatterns = [
    path("", dashboard.invoice_list, name="invoice_list"),
    path("export.<str:fmt>", export.invoice_export, name="invoice_export"),
    path("preferences/columns/", preferences.columns_choose, name="columns"),
    path("connections/<int:pk>/sync/", sync.connection_sync_now, name="connection_sync"),
    path(
        "connections/<int:pk>/sync/status/",
        sync.connection_sync_status,
        name="connection_sync_status",
    ),
    path("accounts/<int:pk>/", live.account_detail, name="account_detail"),
    path(
        "accounts/<int:pk>/next-billing-date/",
        live.account_next_billing_date,
        name="account_next_billing_date",
    ),
    path("invoices/<int:pk>/public-link/", live.invoice_public_link, name="invoice_public_link"),
]
