"""What can stop a secret from being read; every message names the item, field or vault, never a value.

Missing or bad OP_* variables raise stacksettings.SettingsError instead, naming the variable.
"""


class OnePasswordError(RuntimeError):
    """Base class: anything that stops a secret from being read."""


class SecretSpecError(OnePasswordError, ValueError):
    """A secret spec (item/field description) is malformed."""


class SecretNotFoundError(OnePasswordError, LookupError):
    """The item or field does not exist in the vault."""


class DuplicateItemError(OnePasswordError):
    """More than one item in the vault has the requested title."""


class ConnectError(OnePasswordError):
    """Connect refused the request, failed, or could not be reached."""
