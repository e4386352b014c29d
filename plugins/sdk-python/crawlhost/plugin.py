"""The plugin base class, manifest helpers, and the adapter componentize-py exports.

A plugin subclasses `Plugin` and exports it from its app module:

    class MyShop(crawlhost.Plugin):
        def manifest(self): ...
        def plan(self, run, input): ...
        def crawl(self, run, task): ...

    Crawler = crawlhost.export(MyShop)

componentize-py looks up the class `Crawler` (the exported interface's name)
in the app module. The adapter wraps the run info in `Run` and turns this
SDK's exceptions into the WIT `crawl-error`; any other exception becomes
`other` naming its type, instead of a trap. The host calls `manifest` once at
load, `plan` once per run and `crawl` once per task, each in a fresh instance
(made from the snapshot taken after the module's top level ran at build time):
keep nothing in globals between calls.
"""

import gc
from typing import List, Optional, Sequence, Type

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types
from wit_world.imports.types import (
    ConfigKey,
    CrawlOutput,
    PlanInput,
    PlanInput_Scheduled,
    PlanInput_Trigger,
    PluginManifest,
    RunInfo,
    Task,
)

from .errors import CrawlError, Other
from .run import Run

__all__ = [
    "ConfigKey", "CrawlOutput", "PlanInput", "PlanInput_Scheduled", "PlanInput_Trigger",
    "PluginManifest", "Plugin", "config_key", "export", "manifest",
]


def config_key(name: str, description: str, default: Optional[str] = None, required: bool = False) -> ConfigKey:
    """A configuration key the plugin understands (`default` used when the operator sets none)."""
    return ConfigKey(name=name, description=description, default_value=default, required=required)


def manifest(
    name: str,
    version: str,
    description: str,
    topics: Sequence[str],
    hosts: Sequence[str],
    config: Sequence[ConfigKey] = (),
    schedule: Optional[str] = None,
    triggers: Sequence[str] = (),
) -> PluginManifest:
    """What a plugin is and needs (see `plugin-manifest` in `wit/plugin.wit`)."""
    return PluginManifest(
        name=name,
        version=version,
        description=description,
        schedule=schedule,
        topics=list(topics),
        hosts=list(hosts),
        config=list(config),
        triggers=list(triggers),
    )


class Plugin:
    """What a crawler implements; raise `CrawlError` subclasses to fail a call."""

    def manifest(self) -> PluginManifest:
        """Describe the plugin (called once at load time; must not fetch)."""
        raise NotImplementedError

    def plan(self, run: Run, input: PlanInput) -> List[Task]:
        """Seed the tasks of a run (scheduled, or one trigger record)."""
        raise NotImplementedError

    def crawl(self, run: Run, task: Task) -> CrawlOutput:
        """Do one task: fetch, parse, return records and follow-up tasks."""
        raise NotImplementedError


def _wit_error(error: BaseException) -> types.CrawlError:
    if isinstance(error, CrawlError):
        return error.to_wit()
    if isinstance(error, Err):
        return error.value
    return Other(f"unexpected {type(error).__name__}: {error}").to_wit()


def export(plugin: Type[Plugin]) -> Type[exports.Crawler]:
    """The class componentize-py exports as `crawler`, calling an instance of `plugin`."""
    instance = plugin()

    class Crawler(exports.Crawler):
        """The `crawler` export over the SDK's `Plugin`."""

        def manifest(self) -> PluginManifest:
            return instance.manifest()

        def plan(self, run: RunInfo, input: PlanInput) -> List[Task]:
            try:
                return instance.plan(Run(run), input)
            except Exception as e:
                raise Err(_wit_error(e)) from None

        def crawl(self, run: RunInfo, task: Task) -> CrawlOutput:
            try:
                return instance.crawl(Run(run), task)
            except Exception as e:
                raise Err(_wit_error(e)) from None

    # Everything allocated so far (modules, constants, the plugin) is in the
    # build-time snapshot every instance starts from: move it out of the
    # cyclic collector's sight, so a collection during a task does not walk
    # (and copy-on-write fault in) the whole snapshot heap.
    gc.freeze()
    return Crawler
