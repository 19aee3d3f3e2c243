"""Where the project's own files live (the checkout holding this package)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
SCHEMA_PATH = CONFIG_DIR / "schema.yaml"
DEFAULT_CONFIG = CONFIG_DIR / "config.yaml"
PDK_CONFIG_DIR = PROJECT_ROOT / "pdk_configs"
TEMPLATE_DIR = PROJECT_ROOT / "templates"
