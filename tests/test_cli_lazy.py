"""Kernel commands load on first use; their --help lines must stay true."""
import pytest

from crmkit.cli import BUILTIN, load_builtin


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_help_line_matches_the_command(name):
    command = load_builtin(name)
    assert command is not None and command.name == name
    assert BUILTIN[name][1] == command.get_short_help_str(limit=45)


def test_help_lists_kernel_and_plugin_commands(notes_plugin, runner):
    result = runner.invoke("--help")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()]
    assert listed == sorted(set(BUILTIN) | {"notes"})


def test_extended_groups_carry_every_module_s_commands(runner):
    customers = runner.invoke("customers --help").output
    for sub in ("list", "merge", "import", "export", "erase"):
        assert f"  {sub}" in customers
    assert "  runs" in runner.invoke("jobs --help").output
