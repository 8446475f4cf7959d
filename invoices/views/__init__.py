"""Views, one module per area: dashboard (tables), live (provider calls), export, sync."""
