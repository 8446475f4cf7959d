"""`manage.py bench`: the dashboard against the Django admin, the raw SQL and the sync.

- `data`   a realistic mirror written straight into the database (bulk inserts);
- `pages`  the list scenarios and the CSV export, timed in-process against their peers;
- `sync`   the real sync against the sandbox, against a plain fetch-and-decode loop;
- `report` the floors the issue sets, the printed table and the JSON.
"""
