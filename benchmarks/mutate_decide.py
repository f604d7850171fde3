"""Mutation testing of the engine's decision rules (``sync/decide.py``).

A small AST mutator (no extra dependency): each mutant flips one comparison (``==``/``!=``,
``in``/``not in``, ``is``/``is not``), one ``and``/``or``, drops one ``not``, or swaps one
``True``/``False``; the mutant module is written into a copy of ``src`` and the table tests
(``tests/sync/test_decide.py``) run against it. A mutant the tests do not fail "survives".

    python benchmarks/mutate_decide.py [--tests tests/sync/test_decide.py]

Prints the score and every surviving mutant (line and change), so each one can be judged: a
surviving mutant of a safety rule (deletes, restores, copies, rich notes) needs a test.
"""

from __future__ import annotations

import argparse
import ast
import copy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = Path("pllm_sync/sync/decide.py")

SWAP_CMP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


class _Sites(ast.NodeTransformer):
    """Counts mutation sites; when ``target`` is given, applies only that one."""

    def __init__(self, target: int | None = None) -> None:
        self.n = 0
        self.target = target
        self.done: str | None = None

    def _hit(self, what: str, node: ast.AST) -> bool:
        i = self.n
        self.n += 1
        if i == self.target:
            self.done = f"line {getattr(node, 'lineno', '?')}: {what}"
            return True
        return False

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for k, op in enumerate(node.ops):
            swap = SWAP_CMP.get(type(op))
            if swap and self._hit(f"{type(op).__name__} -> {swap.__name__}", node):
                node.ops[k] = swap()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        if self._hit(f"{type(node.op).__name__} -> {type(other).__name__}", node):
            node.op = other
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._hit("drop `not`", node):
            return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, bool) and self._hit(f"{node.value} -> {not node.value}", node):
            return ast.copy_location(ast.Constant(not node.value), node)
        return node


def mutants(source: str) -> list[tuple[str, str]]:
    tree = ast.parse(source)
    counter = _Sites()
    counter.visit(copy.deepcopy(tree))
    out = []
    for i in range(counter.n):
        t = _Sites(i)
        mutated = t.visit(copy.deepcopy(tree))
        ast.fix_missing_locations(mutated)
        out.append((t.done or f"site {i}", ast.unparse(mutated)))
    return out


def run_tests(tests: str, src: Path, home: str) -> int:
    """pytest's exit code for ``tests`` against the source copy at ``src``."""
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            tests,
        ],
        cwd=ROOT,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HOME": home},
        capture_output=True,
        text=True,
    )
    return res.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", default="tests/sync/test_decide.py")
    args = ap.parse_args()
    original = (ROOT / "src" / TARGET).read_text(encoding="utf-8")
    found = mutants(original)
    survived: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pllm-mut-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", src)
        # tests that cannot even run on the unmutated copy would count every mutant killed
        if (code := run_tests(args.tests, src, tmp)) != 0:
            print(f"{args.tests} fails on the unmutated source (exit {code}); no score")
            return 2
        for what, text in found:
            (src / TARGET).write_text(text, encoding="utf-8")
            # 1 = a test failed (killed); 0 = all passed (survived); else the run broke
            code = run_tests(args.tests, src, tmp)
            if code == 0 or code > 1:
                survived.append(what if code == 0 else f"{what} (test run broke: exit {code})")
    killed = len(found) - len(survived)
    print(
        f"{TARGET}: {len(found)} mutants, {killed} killed, {len(survived)} survived "
        f"(score {100.0 * killed / max(len(found), 1):.0f}%)"
    )
    for what in survived:
        print(f"  survived: {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
