"""``possync pos drawer ...`` on a provisioned till (in process, CliRunner): open,
paid in/out, X, close with a count; refusals exit 1 with the reason."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from possync.cli import main
from tests.property.test_customer_merge import Shop


def test_the_drawer_commands_open_move_report_and_close() -> None:
    shop = Shop()
    runner = CliRunner()
    data = ["--data", str(shop.directory / "T01")]

    def drawer(*args: str) -> tuple[int, str]:
        result = runner.invoke(main.app, ["pos", "drawer", *args, *data])
        return result.exit_code, result.output

    try:
        assert drawer("open", "--float", "150.00", "--json")[0] == 0
        code, said = drawer("open", "--float", "1")
        assert code == 1 and "already open" in said
        assert drawer("paid-in", "--amount", "20", "--reason", "change from the bank")[0] == 0
        code, said = drawer("paid-out", "--amount", "5.50", "--reason", " ")
        assert code == 1 and "give a reason" in said
        assert drawer("paid-out", "--amount", "5.50", "--reason", "stamps")[0] == 0
        code, said = drawer("x", "--json")
        x = orjson.loads(said)
        assert (code, x["paid_in"], x["paid_out"], x["expected_cash"]) == (0, 2000, 550, 16450)
        code, said = drawer("close", "--count", "100.00=1", "--count", "50=1", "--count", "3=1")
        assert code == 1 and "no note or coin of 300" in said
        code, said = drawer("close", "--count", "100.00=1", "--count", "50=1", "--count", "10=1")
        assert code == 0, said
        assert "S01-T01-Z000001" in said and "over/short -€4.50" in said
        code, said = drawer("x", "--json")
        assert orjson.loads(said)["session"] is None
    finally:
        shop.close()
