"""QApplication setup, bundled resources, the station's start-up and the ``--screenshot`` mode."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from inspector_app import __version__
from inspector_app.bundled import default_model_path, demo_dir
from inspector_app.main_window import APP_NAME, MainWindow, demo_copy
from inspector_app.services.live.spec import SourceSpec

SCREENSHOT_TIMEOUT_S = 60.0


def _dark_palette() -> QPalette:
    """A dark palette: images and colour overlays read better on a dark surround."""
    p = QPalette()
    base, window, text = QColor(37, 37, 40), QColor(45, 45, 49), QColor(225, 225, 228)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(43, 43, 47),
        QPalette.ColorRole.ToolTipBase: QColor(60, 60, 64),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(55, 55, 60),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 80, 80),
        QPalette.ColorRole.Highlight: QColor(66, 133, 244),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(100, 170, 255),
        QPalette.ColorRole.PlaceholderText: QColor(140, 140, 145),
        QPalette.ColorRole.Mid: QColor(120, 120, 126),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 125))
    return p


def apply_style(app: QApplication) -> None:
    """Fusion style with a dark palette (no style sheet: the palette is the whole theme)."""
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    app.setPalette(_dark_palette())


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused when one exists, e.g. under pytest-qt)."""
    existing = QCoreApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QCoreApplication.setOrganizationName("DefectInspector")
    QCoreApplication.setApplicationName("defect-inspector")
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationDisplayName(APP_NAME)
    apply_style(app)
    return app


def start(window: MainWindow, path: Path | None, model: Path | None) -> None:
    """Open ``path`` (the demo when None) and load the model: explicit, else the project's, else
    the bundled one; without any, the station runs without predictions and says so."""
    if path is None:
        source = demo_dir()
        if not source.is_dir():
            window.notice.show_message(f"The bundled demo {source} is missing: open a folder.", "warning")
            return
        try:
            path = demo_copy(source)
        except OSError:
            path = source
    window.open_path(path)
    window.canvas.setFocus()  # single-key shortcuts must not type into the search box
    project = window.station.navigation.project
    prediction = window.station.prediction
    if model is not None:
        prediction.load_model(model)  # a command-line choice is for this session only
        return
    project_model = project.model_path() if project is not None else None
    if project_model is not None and project_model.is_file():
        prediction.load_model(project_model)
        return
    bundled = default_model_path()
    if bundled.is_file():
        prediction.load_model(bundled)
    else:
        window.set_no_model(
            f"No model: the bundled model {bundled.name} is not installed, so there are no predictions. "
            "Open one with Model ▸ Open model… (Ctrl+M)."
        )


def start_live(window: MainWindow, source: SourceSpec) -> None:
    """Live mode on ``source`` (given on the command line), started once the model is ready."""
    window.modes.switch("live")
    window.live_mode.start_when_ready(source.text)


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        return 1400, 860
    return max(640, w), max(480, h)


def take_screenshot(window: MainWindow, out: Path, timeout_s: float = SCREENSHOT_TIMEOUT_S) -> bool:
    """Wait until the first image (and its prediction, when a model is loading) is on screen, then
    save the window as PNG. Returns False when it timed out (the PNG is written anyway)."""
    loop = QEventLoop()
    timed_out = False

    navigation, prediction = window.station.navigation, window.station.prediction

    def ready() -> bool:
        if navigation.project is None:
            return True
        if navigation.is_scanning():
            return False
        entry = navigation.current_entry()
        if navigation.files.rowCount() and entry is None:
            return False
        shown = navigation.current_image
        if entry is not None and shown is None and entry.error() is None:
            return False  # still decoding
        if prediction.inference.loading:
            return False
        return (
            prediction.model is None
            or shown is None
            or prediction.mask is not None
            or not prediction.inference.busy
        )

    def check() -> None:
        if ready():
            loop.quit()

    def on_timeout() -> None:
        nonlocal timed_out
        timed_out = True
        loop.quit()

    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(50)
    QTimer.singleShot(int(timeout_s * 1000), on_timeout)
    loop.exec()
    poll.stop()
    # Let layouts and the canvas settle, then render.
    settle = QEventLoop()
    QTimer.singleShot(200, settle.quit)
    settle.exec()
    pixmap = window.grab()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(out), "PNG"):
        raise OSError(f"cannot write {out}")
    return not timed_out


def run(options: argparse.Namespace) -> int:
    """The GUI mode of ``defect-inspector`` (see :mod:`inspector_app.__main__`)."""
    path: Path | None = None
    source: SourceSpec | None = None
    if isinstance(options.path, SourceSpec):
        source = options.path
    else:
        path = options.path
    if path is not None and not path.exists():
        print(f"defect-inspector: {path}: no such file or folder", file=sys.stderr)
        return 2
    app = create_application()
    window = MainWindow(operator=options.operator)
    if options.screenshot is not None:
        width, height = _parse_size(options.size)
        window.resize(width, height)
        window.show()
        start(window, path, options.model)
        if source is not None:
            start_live(window, source)
        try:
            complete = take_screenshot(window, options.screenshot)
        except OSError as exc:
            print(f"defect-inspector: {exc}", file=sys.stderr)
            return 1
        finally:
            window.shutdown()
            window.close()
        if not complete:
            print("defect-inspector: timed out waiting for the prediction; saved anyway", file=sys.stderr)
        print(f"screenshot written to {options.screenshot}", file=sys.stderr)
        return 0 if complete else 1
    window.show()
    start(window, path, options.model)
    if source is not None:
        start_live(window, source)
    code = app.exec()
    window.shutdown()  # threads end before Python tears the objects down
    return int(code)
