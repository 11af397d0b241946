"""Configuration: TOML validated by pydantic; secrets from the environment."""

from daemon.config.loader import ConfigError, identical_groups, load_settings
from daemon.config.models import Settings
from daemon.config.secrets import read_secret

__all__ = ["ConfigError", "Settings", "identical_groups", "load_settings", "read_secret"]
