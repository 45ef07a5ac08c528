"""HTTP transport (Flask): one generic entity view, the service root, error rendering."""
