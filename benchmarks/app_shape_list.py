"""Benchmark: the shape list dock following a session with many shapes (offscreen).

Per shape count: adding them all (one command: every row built), one edit of one shape (only its
row updated), selecting half of them (one selection-model call), adding one more shape and
deleting one (only that row inserted / taken), median of ``--repeat`` runs.
Before the incremental rows and the one-call selection, 5,000 shapes took 5.5 s per edit and
77 s to select half.

    python benchmarks/app_shape_list.py [--counts 100,1000,5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_common import median, now

from inspector_app.app import create_application
from inspector_app.core.annotations import Shape
from inspector_app.core.demo import demo_class_table
from inspector_app.docks.shape_list import ShapeListPanel
from inspector_app.editing import AnnotationSession


def _triangles(n: int) -> list[Shape]:
    out = []
    for i in range(n):
        x, y = float(i % 400) * 5, float(i // 400) * 5
        out.append(Shape("zhen_kong", ((x, y), (x + 4, y), (x + 2, y + 4))))
    return out


def run(n: int, folder: Path) -> tuple[float, float, float, float, float]:
    """(add, one edit, select half, add one, delete one) in ms for ``n`` shapes."""
    session = AnnotationSession(demo_class_table())
    session.open(folder / "b.png", folder / "b.json", (2000, 2000))
    panel = ShapeListPanel(session)
    shapes = _triangles(n)
    t0 = now()
    session.add_shapes(shapes)
    t1 = now()
    ids = session.shape_ids
    session.move_shapes([ids[n // 2]], 1.0, 1.0)
    t2 = now()
    session.set_selection(ids[: n // 2])
    t3 = now()
    session.set_selection([])
    t4 = now()
    session.add_shapes(_triangles(1))
    t5 = now()
    session.remove_shapes([ids[n // 3]])
    t6 = now()
    panel.deleteLater()
    return ((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, (t5 - t4) * 1e3, (t6 - t5) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="100,1000,5000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    create_application()
    with tempfile.TemporaryDirectory() as tmp:
        print("shapes   add ms   one edit ms   select half ms   add one ms   delete one ms")
        for n in (int(c) for c in args.counts.split(",")):
            runs = [run(n, Path(tmp)) for _ in range(args.repeat)]
            add, edit, select, one, gone = (median([r[k] for r in runs]) for k in range(5))
            print(f"{n:>6} {add:>8.1f} {edit:>13.1f} {select:>16.1f} {one:>12.1f} {gone:>15.1f}")
        print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
