"""Resolving implementation names to classes: lazily, once, thread-safely, through pluggy."""

import contextlib
import importlib
import inspect
import threading
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, NoReturn

from noether.core.schemas.errors import did_you_mean
from noether.registry import discovery, listing
from noether.registry.errors import (
    AttentionConflictError,
    BuiltinOverrideError,
    InvalidImplementationError,
    PluginBlockedError,
    PluginImportError,
    RegistryError,
    UnknownAttentionError,
)
from noether.registry.implementation import AttentionImplementation


class Resolved(NamedTuple):
    """A name resolved to its classes; ``module`` is None when only the config was asked for."""

    name: str
    qualified: str
    config: Any
    module: Any


class _Target(NamedTuple):
    name: str
    qualified: str
    plugin_module: str | None  # module registered with pluggy (None: a programmatic registration)
    entry: discovery.PluginEntry | None


class AttentionRegistry:
    """Implementation names to attention classes: built-ins, installed plugins, and registrations.

    Resolving a name imports that implementation alone, once per process; threads
    resolving the same name wait for the first one (no lock is held while a plugin
    imports). Configs name implementations only by registered name: nothing a
    config says is ever imported as a dotted path or evaluated.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._register_lock = threading.Lock()
        self._manager_lock = threading.Lock()
        self._done: dict[tuple[str, bool], Resolved] = {}
        self._failed: dict[str, BaseException] = {}
        self._pending: dict[tuple[str, bool], threading.Event] = {}
        self._registered: dict[str, AttentionImplementation] = {}
        self._plugins: dict[str, Any] = {}  # plugin module name -> module object registered with pluggy
        self._provided: dict[str, dict[str, AttentionImplementation] | RegistryError] = {}  # per plugin, once
        self._added: list[Any] = []  # hook objects from add_hooks
        self._muted: set[Any] = set()  # noether_attention_built hookimpls that raised once
        self._manager: Any = None

    # -- listing (metadata only) -----------------------------------------------------------------

    def rows(self) -> list[listing.Row]:
        registered = {name: impl.config_path() for name, impl in self._registered.items()}
        failures = {key: str(exc).splitlines()[0] for key, exc in self._failed.items()}
        return listing.rows(registered, failures)

    def names(self) -> list[str]:
        return listing.names({name: impl.config_path() for name, impl in self._registered.items()})

    def refresh(self) -> None:
        """Rescan installed plugins and forget failures (e.g. after installing a fix)."""
        discovery.refresh()
        with self._lock:
            self._failed.clear()

    # -- resolution --------------------------------------------------------------------------------

    def resolve(self, name: str) -> Resolved:
        """The module and config classes of ``name`` (imports the module class, hence torch)."""
        return self._resolve(name, with_module=True)

    def resolve_config(self, name: str) -> Any:
        """Only the config class of ``name``: enough to validate configs without torch."""
        return self._resolve(name, with_module=False).config

    def _resolve(self, name: str, with_module: bool) -> Resolved:
        target = self._target(name)
        key = (target.qualified, with_module)
        while True:
            with self._lock:
                done = self._done.get(key) or (None if with_module else self._done.get((target.qualified, True)))
                if done is not None:
                    return done
                failed = self._failed.get(target.qualified)
                if failed is not None:  # remembered: the plugin's code is not run again
                    raise type(failed)(*failed.args) from failed.__cause__
                event = self._pending.get(key)
                owner = event is None
                if owner:
                    event = self._pending[key] = threading.Event()
            if owner:
                break
            assert event is not None
            event.wait()
        try:
            resolved = self._load(target, with_module)
        except RegistryError as exc:
            with self._lock:
                self._failed[target.qualified] = exc
                self._pending.pop(key).set()
            raise
        except BaseException:
            with self._lock:
                self._pending.pop(key).set()
            raise
        with self._lock:
            self._done[key] = resolved
            self._pending.pop(key).set()
        return resolved

    def _target(self, name: str) -> _Target:
        if not isinstance(name, str) or not name:
            raise UnknownAttentionError(f"an attention implementation name must be a non-empty string, got {name!r}")
        distribution, _, base = name.rpartition(":")
        if name in self._registered:
            return _Target(name, name, None, None)
        if name in discovery.BUILTINS:
            # only a plugin that NOETHER_ALLOW_BUILTIN_OVERRIDE names may replace it: else no scan is needed
            allowed = name in listing.allowed_overrides()
            overriding = listing.plugin_claims().get(name, []) if allowed else []
            if len(overriding) == 1:
                warnings.warn(
                    f"plugin {overriding[0].distribution} replaces the built-in attention {name!r} "
                    "(NOETHER_ALLOW_BUILTIN_OVERRIDE)",
                    stacklevel=4,
                )
                return self._plugin_target(overriding[0])
            return _Target(name, f"{discovery.BUILTIN}:{name}", "noether.registry.builtins", None)
        claims = listing.plugin_claims()
        if distribution:
            return self._qualified_target(name, distribution, base, claims)
        entries = claims.get(name, [])
        if len(entries) > 1:
            choices = ", ".join(f"'{e.qualified}'" for e in entries)
            raise AttentionConflictError(
                f"attention {name!r} is provided by several distributions "
                f"({', '.join(e.distribution for e in entries)}); name one of {choices}"
            )
        if entries:
            return self._plugin_target(entries[0])
        found = discovery.scan()
        blocked = [e.distribution for e in found.blocked if e.name == name]
        if blocked:
            raise PluginBlockedError(
                f"attention {name!r} is provided by {', '.join(blocked)}, which {found.blocked_by} blocks"
            )
        self._raise_unknown(name)

    def _qualified_target(
        self, name: str, distribution: str, base: str, claims: Mapping[str, list[discovery.PluginEntry]]
    ) -> _Target:
        if distribution == discovery.BUILTIN and base in discovery.BUILTINS:
            return _Target(base, name, "noether.registry.builtins", None)
        for entry in claims.get(base, []):
            if discovery.normalize(entry.distribution) == discovery.normalize(distribution):
                return self._plugin_target(entry)
        found = discovery.scan()
        for entry in found.blocked:
            if entry.name == base and discovery.normalize(entry.distribution) == discovery.normalize(distribution):
                raise PluginBlockedError(
                    f"attention {name!r}: distribution {entry.distribution} is blocked by {found.blocked_by}"
                )
        self._raise_unknown(name)

    def _plugin_target(self, entry: discovery.PluginEntry) -> _Target:
        broken = listing.malformed(entry)
        if broken:
            raise PluginImportError(f"plugin {entry.distribution} (entry point {entry.name!r}): {broken}")
        return _Target(entry.name, entry.qualified, entry.config_path.partition(":")[0], entry)

    def _raise_unknown(self, name: str) -> NoReturn:
        available = self.names()
        hint = did_you_mean(name.rpartition(":")[2], available)
        disabled = "" if discovery.scan().autoload else " (plugin autoloading is disabled)"
        raise UnknownAttentionError(
            f"unknown attention {name!r}{hint or '.'} Available{disabled}: {', '.join(available)}"
        )

    # -- loading ---------------------------------------------------------------------------------

    def _load(self, target: _Target, with_module: bool) -> Resolved:
        impl = self._registered[target.name] if target.plugin_module is None else self._from_plugin(target)
        config = impl.load_config()
        _check_config_class(target, config)
        module = None
        if with_module:
            try:
                module = impl.load_module()
            except Exception as exc:
                if isinstance(exc, ModuleNotFoundError) and exc.name == "torch":
                    raise  # already says which extra to install
                raise PluginImportError(
                    f"attention {target.qualified!r}: {impl.module_path()}: {_one_line(exc)}"
                ) from exc
            _check_module_class(target, module, config)
        return Resolved(target.name, target.qualified, config, module)

    def _from_plugin(self, target: _Target) -> AttentionImplementation:
        assert target.plugin_module is not None
        where = "built-in" if target.entry is None else f"{target.entry.distribution} (entry point {target.name!r})"
        try:
            plugin = importlib.import_module(target.plugin_module)
        except Exception as exc:
            raise PluginImportError(
                f"plugin {where} failed to import {target.plugin_module}: {_one_line(exc)}"
            ) from exc
        manager = self._plugin_manager()
        with self._register_lock:
            try:
                if target.plugin_module not in self._plugins:
                    manager.register(plugin, name=target.plugin_module)
                    self._plugins[target.plugin_module] = plugin
                    manager.check_pending()
            except Exception as exc:
                manager.unregister(plugin)
                self._plugins.pop(target.plugin_module, None)
                raise PluginImportError(f"plugin {where} has invalid hooks: {_one_line(exc)}") from exc
        provided = self._provided_by(target.plugin_module, plugin, where)
        impl = provided.get(target.name)
        if impl is None and target.entry is not None:  # no hook for the name: the entry point alone declares it
            impl = _from_entry_point(target.entry, where)
        if not isinstance(impl, AttentionImplementation):
            raise InvalidImplementationError(
                f"plugin {where} does not provide {target.name!r} from noether_attention_implementations "
                f"(it provides {sorted(provided)})"
            )
        if target.entry is not None and impl.config_path() != target.entry.config_path:
            raise InvalidImplementationError(
                f"plugin {where}: its entry point names config {target.entry.config_path} but the hook returns "
                f"{impl.config_path()}"
            )
        return impl

    def _provided_by(self, plugin_name: str, plugin: Any, where: str) -> dict[str, AttentionImplementation]:
        """What one plugin's ``noether_attention_implementations`` returns, asked once.

        Plugins load one at a time, when a name of theirs is first used, so the hook
        is called per plugin (pluggy's ``subset_hook_caller``) rather than for all:
        a plugin that raises then fails alone, named, and is not asked again.
        """
        with self._register_lock:
            known = self._provided.get(plugin_name)
            if known is None:
                others = [p for name, p in self._plugins.items() if name != plugin_name] + self._added
                caller = self._plugin_manager().subset_hook_caller("noether_attention_implementations", others)
                try:
                    results = caller()
                    known = {name: impl for result in results for name, impl in dict(result).items()}
                except Exception as exc:
                    known = PluginImportError(
                        f"plugin {where}: noether_attention_implementations raised {_one_line(exc)}"
                    )
                    known.__cause__ = exc
                self._provided[plugin_name] = known
        if isinstance(known, RegistryError):
            raise type(known)(*known.args) from known.__cause__
        return known

    def _plugin_manager(self) -> Any:
        with self._manager_lock if self._manager is None else contextlib.nullcontext():
            if self._manager is None:  # made once, also when threads race to use the first plugin
                import pluggy

                from noether.registry import hookspecs

                manager = pluggy.PluginManager(hookspecs.PROJECT)
                manager.add_hookspecs(hookspecs)
                self._manager = manager
        return self._manager

    def notify_built(self, name: str, module: Any, config: Any) -> None:
        """Call every ``noether_attention_built`` hook; one that raises is reported once and muted,
        so a broken plugin never breaks building built-ins or other plugins' attentions."""
        for impl in reversed(self._plugin_manager().hook.noether_attention_built.get_hookimpls()):
            if impl in self._muted:
                continue
            try:
                impl.function(name=name, module=module, config=config)
            except Exception as exc:
                self._muted.add(impl)
                warnings.warn(
                    f"plugin {impl.plugin_name}: noether_attention_built raised {_one_line(exc)}; "
                    "its hook is skipped from now on",
                    RuntimeWarning,
                    stacklevel=3,
                )

    def add_hooks(self, plugin: Any) -> None:
        """Register an object whose methods implement hooks (say ``noether_attention_built``)."""
        manager = self._plugin_manager()
        with self._register_lock:
            manager.register(plugin)
            try:
                manager.check_pending()
            except Exception:
                manager.unregister(plugin)
                raise
            self._added.append(plugin)

    @property
    def hook(self) -> Any:
        """pluggy's hook relay, e.g. ``registry.hook.noether_attention_built(...)``."""
        return self._plugin_manager().hook

    # -- programmatic registration -----------------------------------------------------------------

    def register(self, name: str, module: Any, config: Any, *, override: bool = False) -> None:
        """Make ``name`` resolve to ``module``/``config`` (classes or ``"module:attr"`` strings).

        Replacing a built-in needs ``override=True`` (and warns); shadowing an
        installed plugin warns.
        """
        if not isinstance(name, str) or not name or ":" in name:
            raise ValueError(f"attention names are non-empty strings without ':', got {name!r}")
        if name in discovery.BUILTINS:
            if not override:
                raise BuiltinOverrideError(
                    f"{name!r} is a built-in attention; pass override=True to replace it in this process"
                )
            warnings.warn(f"replacing the built-in attention {name!r} in this process", stacklevel=2)
        elif name in listing.plugin_claims():
            warnings.warn(f"registration of {name!r} shadows the installed plugin of that name", stacklevel=2)
        with self._lock:
            self._registered[name] = AttentionImplementation(module, config)
            self._done = {key: value for key, value in self._done.items() if key[0] != name}
            self._failed.pop(name, None)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._registered.pop(name)
            self._done = {key: value for key, value in self._done.items() if key[0] != name}

    @contextlib.contextmanager
    def isolated(self) -> Iterator["AttentionRegistry"]:
        """Restore registrations, resolutions, failures and added hooks on exit (for tests and notebooks)."""
        with self._lock:
            saved = (dict(self._registered), dict(self._done), dict(self._failed), set(self._muted))
        added = len(self._added)
        try:
            yield self
        finally:
            with self._register_lock:
                for plugin in self._added[added:]:
                    self._manager.unregister(plugin)
                del self._added[added:]
            with self._lock:
                self._registered, self._done, self._failed, self._muted = saved


def _from_entry_point(entry: discovery.PluginEntry, where: str) -> AttentionImplementation | None:
    """An implementation declared by its entry point alone: the config class names its module class."""
    from noether._lazy import import_target

    try:
        config = import_target(entry.config_path)
    except Exception as exc:
        raise PluginImportError(f"plugin {where}: {entry.config_path}: {_one_line(exc)}") from exc
    module = getattr(config, "module_class", None)
    if module is None:
        return None
    if not isinstance(module, str):
        raise InvalidImplementationError(
            f"plugin {where}: module_class must be a 'module:Class' string, got {module!r}"
        )
    return AttentionImplementation(module, config)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _check_config_class(target: _Target, config: Any) -> None:
    import attrs

    from noether.core.schemas.modules.attention import AttentionConfig

    if not (isinstance(config, type) and attrs.has(config) and issubclass(config, AttentionConfig)):
        raise InvalidImplementationError(
            f"attention {target.qualified!r}: config {config!r} is not an attrs subclass of AttentionConfig "
            "(define it with noether.core.schemas.config)"
        )


def _check_module_class(target: _Target, module: Any, config: Any) -> None:
    from torch import nn

    if not (isinstance(module, type) and issubclass(module, nn.Module)):
        raise InvalidImplementationError(f"attention {target.qualified!r}: module {module!r} is not an nn.Module")
    try:
        inspect.signature(module).bind(object())
    except TypeError as exc:
        raise InvalidImplementationError(
            f"attention {target.qualified!r}: {module.__qualname__}(config) must accept the config as its only "
            f"required argument: {exc}"
        ) from None
