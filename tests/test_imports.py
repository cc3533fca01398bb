"""The package's import graph has no cycles: not between modules, not between domains.

Imports made only for type checking count too: a cycle there still means two modules that
cannot be read (or moved) one without the other.
"""

from __future__ import annotations

import graphlib
from collections import defaultdict

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


def _domain(module: str) -> str:
    """`postback.ingest.spool` → `postback.ingest`; a top-level module is its own domain."""
    return ".".join(module.split(".")[:2])


def test_no_module_imports_itself_through_others(graph: grimp.ImportGraph) -> None:
    edges = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    assert _cycle(edges) is None


def test_no_two_domains_import_each_other(graph: grimp.ImportGraph) -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            # The package's __init__ holds only the version: every module may read it.
            if imported != PACKAGE and _domain(imported) != _domain(module):
                edges[_domain(module)].add(_domain(imported))
    assert _cycle(edges) is None


def test_the_checks_see_a_cycle_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
