"""Registry failures, one type each; all are ``RegistryError`` (a ``LookupError``)."""


class RegistryError(LookupError):
    """Base of every registry failure."""

    def __str__(self) -> str:  # LookupError's str() quotes a single argument like KeyError does not
        return str(self.args[0]) if self.args else ""


class UnknownAttentionError(RegistryError):
    """No implementation has this name."""


class AttentionConflictError(RegistryError):
    """Several distributions provide this name; a qualified ``distribution:name`` picks one."""


class BuiltinOverrideError(RegistryError):
    """A plugin or registration tried to replace a built-in without an explicit override."""


class PluginImportError(RegistryError):
    """Importing or registering a plugin failed; the cause is chained."""


class InvalidImplementationError(RegistryError):
    """A plugin resolved to classes that do not form an attention implementation."""


class PluginBlockedError(RegistryError):
    """Plugin loading is disabled, or this plugin's distribution is not allow-listed."""
