"""Vertex drag speed: drag one vertex of a 5,000-vertex polygon on an 8000x6000 image.

Synthetic mouse presses/moves go to the canvas viewport through QTest (the same path as a real
mouse); after every move the event loop runs, so the scheduled partial repaint is really painted
(offscreen backing store). An "update" = one mouse move handled + painted. Three views:

* ``fit``: the whole image and polygon on screen (worst case for the outline's repaint);
* ``1:1``: zoomed to one image pixel per screen pixel around the vertex (the usual editing view);
* ``8:1``: close-up at 8x.

Prints updates/s per view plus the cost of the release (the one undoable command and the item
rebuild). Target: >= 30 updates/s. ``--min-rate R`` exits with status 1 when a view is slower.

    python benchmarks/vertex_drag.py [--moves 120] [--vertices 5000] [--min-rate 30]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from inspector_app.canvas import CanvasView, prepare_display
from inspector_app.core.annotations import Shape
from inspector_app.core.classes import ClassTable
from inspector_app.editing import AnnotationSession

H, W = 6000, 8000


class PaintCounter(QObject):
    """Counts paint events of the viewport (proves each move was painted)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def polygon(n: int) -> tuple[tuple[float, float], ...]:
    """A wobbly closed outline of ``n`` vertices around the image centre."""
    angle = np.linspace(0, 2 * math.pi, n, endpoint=False)
    radius = 2200 + 60 * np.sin(angle * 37)
    xs = W / 2 + radius * np.cos(angle)
    ys = H / 2 + radius * np.sin(angle) * 0.9
    return tuple((float(x), float(y)) for x, y in zip(xs, ys, strict=True))


def run(
    view: CanvasView,
    session: AnnotationSession,
    sid: int,
    moves: int,
    label: str,
    zoom: float | None,
    counter: PaintCounter,
) -> float:
    """Drag vertex 0 along a small circle; returns updates/s."""
    app = QApplication.instance()
    assert app is not None
    vx, vy = session.shape(sid).points[0]
    if zoom is None:
        view.fit()
    else:
        view.set_zoom(zoom)
        view.centerOn(vx, vy)
    session.set_selection([sid])
    app.processEvents()
    port = view.viewport()
    start = view.mapFromScene(QPointF(vx, vy))
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    app.processEvents()
    painted = counter.count
    step_px = 40
    t0 = time.perf_counter()
    for i in range(moves):
        a = 2 * math.pi * i / moves
        pos = start + type(start)(int(step_px * math.cos(a)) + 5, int(step_px * math.sin(a)))
        QTest.mouseMove(port, pos)
        app.processEvents()  # runs the scheduled (partial) repaint
    elapsed = time.perf_counter() - t0
    paints = counter.count - painted
    t1 = time.perf_counter()
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    app.processEvents()
    release_ms = (time.perf_counter() - t1) * 1000
    rate = moves / elapsed
    print(
        f"  {label:>4}: {rate:7.1f} updates/s  ({elapsed / moves * 1000:5.1f} ms/move, {paints} paints, "
        f"release + commit {release_ms:5.1f} ms)"
    )
    assert session.undo_stack is not None
    session.undo_stack.undo()
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=120)
    parser.add_argument("--vertices", type=int, default=5000)
    parser.add_argument("--min-rate", type=float, default=0.0)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    rng = np.random.default_rng(0)
    image = rng.integers(90, 140, (H, W, 3), dtype=np.uint8)
    session = AnnotationSession(ClassTable.from_labels(["defect"]))
    view = CanvasView()
    view.resize(1280, 800)
    view.show()
    view.bind_session(session)
    t1 = time.perf_counter()
    display = prepare_display(image)  # the part a loader thread can do
    t2 = time.perf_counter()
    view.set_image(display)
    prepare_ms, set_image_ms = (t2 - t1) * 1000, (time.perf_counter() - t2) * 1000
    session.open(Path("bench.png"), Path("bench.json"), image.shape)
    sid = session.add_shape(Shape("defect", polygon(args.vertices)))
    counter = PaintCounter()
    view.viewport().installEventFilter(counter)
    app.processEvents()
    print(
        f"vertex drag, {args.vertices}-vertex polygon on a {W}x{H} image, viewport 1280x800 "
        f"(prepare_display {prepare_ms:.0f} ms, set_image {set_image_ms:.1f} ms on the GUI thread)"
    )
    rates = [
        run(view, session, sid, args.moves, name, zoom, counter)
        for name, zoom in (("fit", None), ("1:1", 1.0), ("8:1", 8.0))
    ]
    worst = min(rates)
    print(f"slowest view: {worst:.1f} updates/s (target >= 30)")
    return 1 if worst < args.min_rate else 0


if __name__ == "__main__":
    raise SystemExit(main())
