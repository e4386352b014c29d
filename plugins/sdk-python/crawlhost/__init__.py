"""Guest-side API for crawlhost plugins written in Python (componentize-py).

A plugin subclasses `Plugin` and exports it with `Crawler = export(MyPlugin)`
in its app module; everything else is helpers over the bindings componentize-py
generates (`wit_world`) from `wit/plugin.wit`, so a crawler reads like a small
spider. The same concepts as the Rust SDK (`plugins/sdk`):

- `http`: requests through the host, the status policy (5xx retryable,
  403/429 blocked), charset-aware text, JSON.
- `html`: CSS selection over a document the host parses (`Document.parse`),
  with batch reads (`texts`, `own_texts`, `attr_values`).
- `extract`: `Tally` for identity vs optional fields; skipped items are
  reported to the host through `quality`.
- `out`: records, follow-up tasks, task payloads (JSON).
- `state`, `log`, `quality`: the other imports.
- `errors`: `Retryable`, `Blocked`, `ParseError`, `Other`, the `crawl-error` variants.
- `run`: `Run`, the run's id, start time and configuration.
"""

from . import errors, extract, html, http, log, out, quality, state
from .errors import Blocked, CrawlError, Other, ParseError, Retryable
from .extract import Item, Missing, Tally
from .html import Document, Element, collapse_whitespace
from .out import CrawlOutput, OutRecord, Task
from .plugin import (
    PlanInput,
    PlanInput_Scheduled,
    PlanInput_Trigger,
    Plugin,
    PluginManifest,
    config_key,
    export,
    manifest,
)
from .run import Run

__all__ = [
    "errors", "extract", "html", "http", "log", "out", "quality", "state",
    "Blocked", "CrawlError", "Other", "ParseError", "Retryable",
    "Item", "Missing", "Tally",
    "Document", "Element", "collapse_whitespace",
    "CrawlOutput", "OutRecord", "Task",
    "PlanInput", "PlanInput_Scheduled", "PlanInput_Trigger", "Plugin", "PluginManifest",
    "config_key", "export", "manifest",
    "Run",
]
