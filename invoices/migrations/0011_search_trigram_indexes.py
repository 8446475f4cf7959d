"""Trigram indexes for the list's search on PostgreSQL (pg_trgm, which ships with it).

The search is `icontains` on the invoice number or the customer's name, which Django
writes as `UPPER(column::text) LIKE UPPER('%term%')`: no b-tree can answer that, so at a
million invoices every search was a parallel scan of the table (1.2 s cold). A GIN index
of each expression's trigrams answers it (100k: the page 132 -> 10 ms, its totals
139 -> 12 ms). SQLite has no such index; there the search stays a scan.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "invoice_number_trgm": "number",
    "invoice_customer_trgm": "customer_name",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "invoices_invoice" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0010_invoice_summaries"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create, drop),
    ]
