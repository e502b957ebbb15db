"""The cashier's screen fixtures (a terminal set up from a store's backup, copied
for each test) are shared with tests/terminal_web."""

from tests.terminal_web.conftest import template_terminal, terminal_dir  # noqa: F401
