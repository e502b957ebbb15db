"""Head office's enterprise console (``/console/`` on ``ho serve``)."""
