"""The store's web management console: server-rendered pages (Jinja2 + htmx) on the
same port as the sync API, for administrators who do not live on the command line."""
