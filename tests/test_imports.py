"""The package's import graph: no module imports itself through others, and no module imports
one of a higher layer.

Imports made only for type checking count too: a cycle there still means two modules that
cannot be read (or moved) one without the other.
"""

from __future__ import annotations

import graphlib

import grimp
import pytest

PACKAGE = "postback"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, exclude_type_checking_imports=False, cache_dir=None)


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


# The layers of a domain, by file name (docs/architecture.md): a module imports only modules of
# its own layer or below, in any domain, so data flows down and no repository reaches a route.
LAYERS = {
    "models": 0,
    "schemas": 0,
    "plan": 0,
    "fields": 0,
    "labels": 0,
    "lexicon": 0,
    "repository": 1,
    "directory": 1,
    "service": 2,
    "routes": 3,
    "pages": 3,
    "cli": 3,
    "jobs": 3,
}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[2]) if len(parts) == 3 else None


def test_no_module_imports_itself_through_others(graph: grimp.ImportGraph) -> None:
    edges = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    assert _cycle(edges) is None


def test_no_module_imports_a_higher_layer(graph: grimp.ImportGraph) -> None:
    upward = [
        f"{module} -> {imported}"
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if (low := _layer(module)) is not None
        and (high := _layer(imported)) is not None
        and high > low
    ]
    assert upward == []


def test_the_checks_see_a_cycle_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_layers_are_read_from_file_names() -> None:
    assert _layer("postback.ingest.repository") == 1
    assert _layer("postback.ingest.routes") == 3
    assert _layer("postback.app") is None
