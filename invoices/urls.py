from django.urls import path

from .views import (
    aging,
    audit,
    connections,
    dashboard,
    export,
    invoice,
    live,
    preferences,
    saved_views,
    selection,
    sync,
    team,
)

app_name = "invoices"

urlpatterns = [
    path("", dashboard.invoice_list, name="invoice_list"),
    path("export.<str:fmt>", export.invoice_export, name="invoice_export"),
    path("aging/", aging.receivables_aging_page, name="aging"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit/export.csv", audit.audit_log_export, name="audit_log_export"),
    path("views/", saved_views.saved_view_save, name="saved_view_save"),
    path("views/default/", saved_views.saved_view_default, name="saved_view_default"),
    path("views/<int:pk>/", saved_views.saved_view_change, name="saved_view_change"),
    path("views/<int:pk>/delete/", saved_views.saved_view_remove, name="saved_view_delete"),
    path("selection/", selection.selection_update, name="selection"),
    path("selection/act/", selection.selection_act, name="selection_act"),
    path("exports/accounting/<int:pk>/", selection.accounting_file, name="accounting_file"),
    path("preferences/columns/", preferences.columns_choose, name="columns"),
    path("connections/", connections.connection_list, name="connections"),
    path("connections/add/", connections.connection_add, name="connection_add"),
    path("connections/<int:pk>/", connections.connection_detail, name="connection_detail"),
    path("connections/<int:pk>/edit/", connections.connection_edit, name="connection_edit"),
    path(
        "connections/<int:pk>/credentials/",
        connections.connection_credentials,
        name="connection_credentials",
    ),
    path("connections/<int:pk>/test/", connections.connection_test, name="connection_test"),
    path("connections/<int:pk>/pause/", connections.connection_pause, name="connection_pause"),
    path("connections/<int:pk>/remove/", connections.connection_remove, name="connection_remove"),
    path(
        "connections/<int:pk>/history/",
        connections.connection_history,
        name="connection_history",
    ),
    path("connections/<int:pk>/sync/", sync.connection_sync_now, name="connection_sync"),
    path(
        "connections/<int:pk>/sync/status/",
        sync.connection_sync_status,
        name="connection_sync_status",
    ),
    path("connections/<int:pk>/team/", team.connection_team, name="connection_team"),
    path(
        "connections/<int:pk>/team/grant/",
        team.connection_team_grant,
        name="connection_team_grant",
    ),
    path(
        "connections/<int:pk>/team/invite/",
        team.connection_team_invite,
        name="connection_team_invite",
    ),
    path(
        "connections/<int:pk>/team/<int:access_pk>/role/",
        team.connection_team_change,
        name="connection_team_change",
    ),
    path(
        "connections/<int:pk>/team/<int:access_pk>/remove/",
        team.connection_team_revoke,
        name="connection_team_revoke",
    ),
    path("accounts/<int:pk>/", live.account_detail, name="account_detail"),
    path(
        "accounts/<int:pk>/next-billing-date/",
        live.account_next_billing_date,
        name="account_next_billing_date",
    ),
    path("invoices/<int:pk>/public-link/", live.invoice_public_link, name="invoice_public_link"),
    path("invoices/<int:pk>/", invoice.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/pdf/", invoice.invoice_pdf, name="invoice_pdf"),
    path(
        "invoices/<int:pk>/confirm-payment/",
        invoice.invoice_confirm_payment,
        name="invoice_confirm_payment",
    ),
    path(
        "invoices/<int:pk>/check-payment/",
        invoice.invoice_check_payment,
        name="invoice_check_payment",
    ),
    path("invoices/<int:pk>/notes/", invoice.invoice_note_create, name="invoice_note_add"),
    path(
        "invoices/<int:pk>/notes/<int:note_pk>/delete/",
        invoice.invoice_note_remove,
        name="invoice_note_delete",
    ),
]
