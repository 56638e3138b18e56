"""No import cycle among the project's modules, counting imports inside functions (issue 15): the house is built
from the bottom up (models, scoring → access, workflow, editing → documents, spreadsheets → views, admin)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "evaluations", "ops", "reports", "tests", "bench")


def project_modules():
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_names(tree, module, is_package):
    """Every module name an import statement anywhere in the file (also inside functions) names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"  # `from package import module`


def import_graph():
    modules = project_modules()
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = set()
        for name in imported_names(tree, module, path.name == "__init__.py"):
            # Importing a.b.c runs a/__init__ and a/b/__init__ first: each is an edge too.
            parts = name.split(".")
            for n in range(1, len(parts) + 1):
                prefix = ".".join(parts[:n])
                if prefix in modules and prefix != module and not module.startswith(prefix + "."):
                    targets.add(prefix)
        graph[module] = targets
    return graph


def find_cycle(graph):
    """One cycle as a list of modules (first == last), or None (depth-first search, colours white/grey/black)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "grey"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "grey":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "black"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_among_project_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_the_walk_sees_imports_inside_functions():
    tree = ast.parse("def f():\n    from evaluations import access\n")
    assert "evaluations.access" in set(imported_names(tree, "evaluations.models.x", False))


def test_a_cycle_is_found():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_models_import_nothing_above_them():
    # Beside the models at the bottom: the pure scoring rules and the text boundary (its limits size the fields).
    # rule_packs and project_scoring are pure scoring like scoring.py (issue 16), importing only each other.
    below = ("evaluations.models", "evaluations.scoring", "evaluations.rule_packs", "evaluations.project_scoring",
             "evaluations.text")
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("evaluations.models"):
            above = sorted(t for t in targets if not t.startswith(below) and t != "evaluations")
            assert not above, f"{module} imports {above}"
