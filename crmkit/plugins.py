"""Plugin discovery, manifests, dependency order and the pluggy manager.

A plugin is any object carrying hookimpls: usually a module found through the ``crmkit`` entry-point
group, sometimes an object registered by a test. The kernel itself is the built-in plugin ``crmkit``.
Loading never raises: every problem becomes a plugin state with a one-line reason, and
:meth:`CrmkitPluginManager.raise_on_errors` turns the states of enabled plugins into one message.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from crmkit.hooks import PROJECT, specs

log = logging.getLogger("crmkit.plugins")

KERNEL = "crmkit"
ENTRY_POINT_GROUP = "crmkit"

ACTIVE, DISABLED, DROPPED, ERROR = "active", "disabled", "dropped", "error"


class PluginError(Exception):
    """One or more enabled plugins cannot run; the message names each plugin and the cause."""


@dataclass(frozen=True)
class Manifest:
    """What a plugin declares about itself, as ``manifest = Manifest(...)`` in its module."""

    name: str
    version: str = "0"
    requires: tuple[str, ...] = ()
    # A bridge plugin: switches on by itself once everything it requires is active.
    auto_install: bool = False
    description: str = ""
    # Directory of numbered migration scripts; None means "<package>/migrations" if it exists.
    migrations: str | None = None


@dataclass
class PluginInfo:
    name: str
    version: str
    requires: tuple[str, ...] = ()
    auto_install: bool = False
    builtin: bool = False
    description: str = ""
    enabled: bool = True
    state: str = ACTIVE
    reason: str = ""
    obj: object = None
    manifest: Manifest | None = None
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "enabled": self.enabled,
            "state": self.state,
            "reason": self.reason,
            "requires": list(self.requires),
            "auto_install": self.auto_install,
            "builtin": self.builtin,
            "description": self.description,
            "hooks": list(self.hooks),
        }


@dataclass
class Candidate:
    """An installed plugin not yet imported."""

    name: str
    load: Callable[[], object]
    version: str | None = None
    builtin: bool = False


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def discover(extra: Iterable[object] = ()) -> list[Candidate]:
    """The kernel, every ``crmkit`` entry point, then objects given directly (tests)."""
    from crmkit import __version__
    found = [Candidate(KERNEL, lambda: importlib.import_module("crmkit.core"), __version__,
                       builtin=True)]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        version = ep.dist.version if ep.dist is not None else None
        found.append(Candidate(ep.name, ep.load, version))
    for obj in extra:
        manifest = getattr(obj, "manifest", None)
        name = manifest.name if isinstance(manifest, Manifest) else getattr(obj, "name", None)
        if not name:
            raise ValueError(f"plugin object {obj!r} has no manifest and no name")
        found.append(Candidate(name, lambda obj=obj: obj))
    return found


class CrmkitPluginManager(pluggy.PluginManager):
    """pluggy's manager plus what crmkit knows about each plugin (manifest, state, reason)."""

    def __init__(self):
        super().__init__(PROJECT)
        self.infos: dict[str, PluginInfo] = {}
        self.spec_owners: dict[str, str] = {}  # hook name -> plugin that added the spec
        self._registering: str | None = None
        self.add_hookspecs(specs)
        # Historic: every plugin registered from now on gets the call when it registers.
        self.hook.add_hookspecs.call_historic(kwargs={"pm": self})

    def add_hookspecs(self, module_or_class) -> None:
        before = set(vars(self.hook))
        super().add_hookspecs(module_or_class)
        if self._registering is not None:
            for name in set(vars(self.hook)) - before:
                self.spec_owners[name] = self._registering

    # -- loading ----------------------------------------------------------------------------------

    def load(self, candidates: Iterable[Candidate], choices: Mapping[str, bool] | None = None,
             override: set[str] | None = None) -> None:
        """Import, order and register plugins.

        ``choices`` are the installation's stored enable/disable decisions (default: enabled);
        ``override`` (from ``CRMKIT_PLUGINS``) replaces them when given.
        """
        choices = choices or {}
        for cand in candidates:
            if cand.name in self.infos:
                log.warning("plugin %r is installed twice; keeping the first", cand.name)
                continue
            self.infos[cand.name] = self._import(cand, choices, override)
        for name in self._dependency_order():
            info = self.infos[name]
            if info.state == ACTIVE:
                self._check_requirements(info)
            if info.state == ACTIVE:
                self._register(info)
        # Errors are not logged here: raise_on_errors reports them, once, where they stop the app.
        for info in self.infos.values():
            if info.state == DROPPED and info.enabled:
                level = logging.INFO if info.auto_install else logging.WARNING
                log.log(level, "plugin %r dropped: %s", info.name, info.reason)
        # Every registered plugin was checked above; this is the start-up guarantee itself.
        self.check_pending()

    def _import(self, cand: Candidate, choices, override) -> PluginInfo:
        info = PluginInfo(name=cand.name, version=cand.version or "0", builtin=cand.builtin)
        try:
            obj = cand.load()
        except Exception as exc:
            info.enabled = cand.builtin or self._enabled(cand.name, False, choices, override)
            info.state, info.reason = (ERROR if info.enabled else DISABLED), (
                f"failed to import: {_describe(exc)}")
            return info
        manifest = getattr(obj, "manifest", None)
        if not isinstance(manifest, Manifest):
            manifest = Manifest(name=cand.name, version=info.version)
        info.obj, info.manifest = obj, manifest
        info.version = cand.version or manifest.version
        info.requires = tuple(manifest.requires)
        info.auto_install = manifest.auto_install
        info.description = manifest.description
        info.enabled = cand.builtin or self._enabled(cand.name, manifest.auto_install, choices,
                                                     override)
        if manifest.name != cand.name:
            info.state, info.reason = ERROR, (
                f"manifest names it {manifest.name!r} but it is installed as {cand.name!r}")
        elif not info.enabled:
            info.state = DISABLED
        return info

    @staticmethod
    def _enabled(name, auto_install, choices, override) -> bool:
        if override is not None:
            return name in override or (auto_install and choices.get(name, True))
        return choices.get(name, True)

    def _dependency_order(self) -> list[str]:
        """Names with each plugin after what it requires; members of a cycle become errors."""
        order: list[str] = []
        done: set[str] = set()

        def visit(name: str, path: list[str]) -> None:
            if name in done or name not in self.infos:
                return
            if name in path:
                cycle = path[path.index(name):] + [name]
                for member in cycle[:-1]:
                    info = self.infos[member]
                    info.state, info.reason = ERROR, "dependency cycle: " + " -> ".join(cycle)
                return
            for req in self.infos[name].requires:
                visit(req, path + [name])
            if name not in done:
                done.add(name)
                order.append(name)

        names = sorted(self.infos, key=lambda n: (not self.infos[n].builtin, n))
        for name in names:
            visit(name, [])
        return order

    def _check_requirements(self, info: PluginInfo) -> None:
        for req in info.requires:
            dep = self.infos.get(req)
            if dep is None:
                why = f"requires {req!r}, which is not installed"
            elif dep.state == DISABLED:
                why = f"requires {req!r}, which is disabled"
            elif dep.state != ACTIVE:
                why = f"requires {req!r}, which is not active ({dep.state})"
            else:
                continue
            info.state, info.reason = DROPPED, why
            return

    def _all_requirements(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.infos[name].requires)
        while todo:
            req = todo.pop()
            if req not in seen and req in self.infos:
                seen.add(req)
                todo.extend(self.infos[req].requires)
        return seen

    def _register(self, info: PluginInfo) -> None:
        self._registering = info.name
        try:
            self.register(info.obj, name=info.name)
        except pluggy.PluginValidationError as exc:
            info.state, info.reason = ERROR, f"invalid hook implementation: {exc}"
            return
        except Exception as exc:  # a failing add_hookspecs implementation, say
            if self.is_registered(info.obj):
                self.unregister(info.obj)
            info.state, info.reason = ERROR, f"failed to register: {_describe(exc)}"
            return
        finally:
            self._registering = None
        problem = self._hook_problem(info)
        if problem:
            self.unregister(info.obj)
            info.state, info.reason = ERROR, problem
            return
        info.hooks = sorted(hc.name for hc in self.get_hookcallers(info.obj) or [])

    def _hook_problem(self, info: PluginInfo) -> str | None:
        """Hooks implemented without a spec, or with a spec of a plugin not required.

        The second rule makes loading independent of plugin names: the owner of a spec always
        registers first because the implementer requires it. ``optionalhook=True`` opts out.
        """
        unknown, unrequired = [], []
        required = self._all_requirements(info.name)
        for hc in self.get_hookcallers(info.obj) or []:
            impls = [impl for impl in hc.get_hookimpls() if impl.plugin is info.obj]
            if any(impl.optionalhook for impl in impls):
                continue
            owner = self.spec_owners.get(hc.name)
            if not hc.has_spec():
                unknown.append(hc.name)
            elif owner not in (None, info.name) and owner not in required:
                unrequired.append(f"{hc.name!r} of plugin {owner!r}")
        if unknown:
            return ("implements unknown hook(s) " + ", ".join(repr(n) for n in sorted(unknown))
                    + " (misspelt, or a hookspec of a plugin it does not require?)")
        if unrequired:
            return ("implements hook(s) " + ", ".join(sorted(unrequired))
                    + " without listing that plugin in its manifest's requires")
        return None

    # -- queries ----------------------------------------------------------------------------------

    def active(self) -> list[PluginInfo]:
        """Active plugins in dependency order (the kernel first)."""
        registered = [name for name, _ in self.list_name_plugin()]
        return [self.infos[name] for name in registered if name in self.infos]

    def active_names(self) -> list[str]:
        return [info.name for info in self.active()]

    def raise_on_errors(self) -> None:
        broken = [i for i in self.infos.values() if i.state == ERROR and i.enabled]
        if broken:
            lines = [f"plugin {i.name!r}: {i.reason}" for i in broken]
            lines.append("fix the plugin, or switch it off with `crmkit plugins disable NAME`")
            raise PluginError("\n".join(lines))

    def call_each(self, hook_name: str, _name_errors: bool = False,
                  **kwargs) -> Iterator[tuple[str, object]]:
        """Call one hook plugin by plugin, in dependency order, yielding (plugin name, result).

        Used where the kernel must know which plugin answered (mount points, profile sections).
        With ``_name_errors`` a failing implementation raises :class:`PluginError` naming the
        plugin (registration hooks); otherwise its exception passes through untouched (domain hooks,
        whose errors mean something to the caller).
        """
        impls = {impl.plugin_name: impl for impl in getattr(self.hook, hook_name).get_hookimpls()}
        for info in self.active():
            impl = impls.get(info.name)
            if impl is None:
                continue
            try:
                result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception as exc:
                if not _name_errors:
                    raise
                raise PluginError(
                    f"plugin {info.name!r}: {hook_name} failed: {_describe(exc)}") from exc
            yield info.name, result


def build_plugin_manager(extra: Iterable[object] = (), choices: Mapping[str, bool] | None = None,
                         override: set[str] | None = None) -> CrmkitPluginManager:
    pm = CrmkitPluginManager()
    pm.load(discover(extra), choices, override)
    return pm
