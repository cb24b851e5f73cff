"""Discovery, manifests, dependency order and every way a plugin can fail to load."""
import logging

import pytest

from crmkit import PluginError, create_app
from crmkit.plugins import ACTIVE, DISABLED, DROPPED, ERROR, build_plugin_manager


def plugin_source(name, requires=(), auto_install=False, body=""):
    return f'''
from crmkit import Manifest, hookimpl
manifest = Manifest(name={name!r}, version="2.0", requires={tuple(requires)!r},
                    auto_install={auto_install!r})
{body}
'''


def test_entry_point_plugin_is_discovered_and_registered(install_dist):
    install_dist("alpha", plugin_source("alpha"), version="3.1")
    pm = build_plugin_manager()
    info = pm.infos["alpha"]
    assert info.state == ACTIVE
    assert info.version == "3.1"  # the installed distribution's version wins
    assert pm.active_names()[0] == "crmkit"
    assert "alpha" in pm.active_names()


def test_plugins_load_in_dependency_order(install_dist):
    install_dist("zeta", plugin_source("zeta"))
    install_dist("apex", plugin_source("apex", requires=["mid"]))
    install_dist("mid", plugin_source("mid", requires=["zeta"]))
    order = build_plugin_manager().active_names()
    assert order.index("zeta") < order.index("mid") < order.index("apex")


def test_missing_requirement_drops_plugin_with_one_log_line(install_dist, caplog):
    install_dist("needy", plugin_source("needy", requires=["ghost"]))
    with caplog.at_level(logging.WARNING, logger="crmkit.plugins"):
        pm = build_plugin_manager()
    info = pm.infos["needy"]
    assert info.state == DROPPED
    assert info.reason == "requires 'ghost', which is not installed"
    lines = [r.getMessage() for r in caplog.records if "needy" in r.getMessage()]
    assert lines == ["plugin 'needy' dropped: requires 'ghost', which is not installed"]
    assert "needy" not in pm.active_names()
    pm.raise_on_errors()  # a dropped plugin does not stop the app


def test_disabled_requirement_drops_dependant(install_dist):
    install_dist("base", plugin_source("base"))
    install_dist("addon", plugin_source("addon", requires=["base"]))
    pm = build_plugin_manager(choices={"base": False})
    assert pm.infos["base"].state == DISABLED
    assert pm.infos["addon"].state == DROPPED
    assert pm.infos["addon"].reason == "requires 'base', which is disabled"


def test_auto_install_bridge_switches_on_only_with_all_requirements(install_dist):
    install_dist("left", plugin_source("left"))
    install_dist("right", plugin_source("right"))
    install_dist("bridge", plugin_source("bridge", requires=["left", "right"], auto_install=True))
    assert build_plugin_manager().infos["bridge"].state == ACTIVE
    # Pinned to a set that leaves one side out: the bridge stays off without being listed.
    pm = build_plugin_manager(override={"left"})
    assert pm.infos["bridge"].state == DROPPED
    assert pm.infos["bridge"].reason == "requires 'right', which is disabled"
    pm = build_plugin_manager(override={"left", "right"})
    assert pm.infos["bridge"].state == ACTIVE
    # An explicit stored "off" beats the bridge's own switch.
    assert build_plugin_manager(choices={"bridge": False}).infos["bridge"].state == DISABLED


def test_dependency_cycle_is_an_error_naming_the_cycle(install_dist):
    install_dist("egg", plugin_source("egg", requires=["hen"]))
    install_dist("hen", plugin_source("hen", requires=["egg"]))
    pm = build_plugin_manager()
    assert pm.infos["egg"].state == ERROR
    assert pm.infos["hen"].state == ERROR
    assert pm.infos["egg"].reason == "dependency cycle: egg -> hen -> egg"
    with pytest.raises(PluginError) as err:
        pm.raise_on_errors()
    assert "plugin 'egg': dependency cycle" in str(err.value)


def test_misspelt_hook_is_an_error_not_a_silent_no_op(install_dist):
    install_dist("typo", plugin_source("typo", body='''
@hookimpl
def register_modles():
    return []
'''))
    pm = build_plugin_manager()
    info = pm.infos["typo"]
    assert info.state == ERROR
    assert "unknown hook(s) 'register_modles'" in info.reason
    assert "typo" not in pm.active_names()
    pm.check_pending()  # the broken plugin left nothing behind in the manager


def test_hookimpl_with_unknown_argument_is_an_error(install_dist):
    install_dist("argy", plugin_source("argy", body='''
@hookimpl
def customer_profile_section(customer, colour):
    return {}
'''))
    info = build_plugin_manager().infos["argy"]
    assert info.state == ERROR
    assert info.reason.startswith("invalid hook implementation:")
    assert "colour" in info.reason


def test_entry_point_that_fails_to_import_is_one_clear_message(install_dist):
    install_dist("broken", "import does_not_exist_anywhere\n")
    pm = build_plugin_manager()
    info = pm.infos["broken"]
    assert info.state == ERROR
    assert info.reason == ("failed to import: ModuleNotFoundError: "
                           "No module named 'does_not_exist_anywhere'")
    with pytest.raises(PluginError) as err:
        pm.raise_on_errors()
    message = str(err.value)
    assert "Traceback" not in message
    assert message.splitlines()[0] == (
        "plugin 'broken': failed to import: ModuleNotFoundError: "
        "No module named 'does_not_exist_anywhere'")
    assert "crmkit plugins disable" in message


def test_disabled_broken_plugin_does_not_stop_the_app(install_dist, crmkit_config):
    install_dist("broken", "raise RuntimeError('half-installed')\n")
    with pytest.raises(PluginError):
        create_app(crmkit_config)
    app = create_app({**crmkit_config, "PLUGINS": ""})
    assert app.extensions["crmkit"].pm.infos["broken"].state == DISABLED


def test_manifest_name_must_match_entry_point(install_dist):
    install_dist("named", plugin_source("other"))
    info = build_plugin_manager().infos["named"]
    assert info.state == ERROR
    assert info.reason == "manifest names it 'other' but it is installed as 'named'"


def test_plugin_without_manifest_gets_one_from_its_entry_point(install_dist):
    install_dist("bare", "from crmkit import hookimpl\n", version="0.4")
    info = build_plugin_manager().infos["bare"]
    assert (info.state, info.version, info.requires) == (ACTIVE, "0.4", ())


def test_register_hook_failure_names_the_plugin(install_dist, crmkit_config):
    install_dist("faulty", plugin_source("faulty", body='''
@hookimpl
def register_blueprints():
    raise KeyError("no such blueprint")
'''))
    with pytest.raises(PluginError) as err:
        create_app(crmkit_config)
    assert str(err.value) == ("plugin 'faulty': register_blueprints failed: "
                              "KeyError: 'no such blueprint'")


def test_throwaway_plugin_object_for_one_test(make_app):
    class Probe:
        name = "probe"

        @staticmethod
        @__import__("crmkit").hookimpl
        def register_permissions():
            from crmkit import Permission
            return [Permission("probe:run")]

    app = make_app(plugins=[Probe()])
    pm = app.extensions["crmkit"].pm
    assert "probe" in pm.active_names()
    assert pm.infos["probe"].hooks == ["register_permissions"]
