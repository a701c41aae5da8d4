"""Live inspection backend (Qt-free): sources, capture, inference pipeline, rules, outputs, stats.

See docs/live.md. The GUI's Live mode and ``defect-inspector live`` both drive
:class:`inspector_app.services.live.pipeline.LivePipeline`.
"""
