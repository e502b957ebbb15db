"""What the store console and the cashier's screen share: vendored assets, the
base stylesheet, template set-up and CSRF tokens. Knows nothing of retail or sync."""
