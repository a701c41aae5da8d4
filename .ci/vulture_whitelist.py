"""Names vulture (the CI dead-code check, see pyproject.toml [tool.vulture]) cannot see being used.

Only false positives belong here: framework hooks called by Qt/PyTorch/logging, attributes set
on objects of other libraries, and fields read generically (``dataclasses.asdict``, JSON, log
formats). Code that is merely unused is deleted, not listed. The last section is temporary: see
its comment.
"""

# ruff: noqa
# mypy: ignore-errors

_ = object()

# --- attributes set on objects of other libraries (onnxruntime SessionOptions, onnx protos) ------
_.intra_op_num_threads
_.inter_op_num_threads
_.graph_optimization_level
_.execution_mode
_.enable_profiling
_.profile_file_prefix
_.producer_name
_.doc_string
_._numpy_buffer  # inspector_app/qtconvert.py: keeps the numpy buffer alive with its QImage

# --- read through a logging format string ("%(rank_prefix)s") -----------------------------------
_.rank_prefix

# --- fields of frozen records that are serialised or shown generically ---------------------------
num_train  # core.protocol.Started: written to the event stream, read by the GUI
num_val
eta_s  # core.protocol.Progress
area_px  # core.regions.RegionStats: shown in the legend through the tuple
logit_std  # trainer.export.ParityResult: recorded in the card via dataclasses.asdict
float64_error
float32_noise
added_labels  # trainer.data.prepare.PreparedData: what --add-unknown-classes added
total_ms  # inspector_app.jobs.inference result record (shown in the status bar)
read_ms  # inspector_app.jobs.loader result record

# --- Qt override signatures ----------------------------------------------------------------------
source_parent  # QSortFilterProxyModel.filterAcceptsRow(source_row, source_parent)

# --- public API of the Qt-free core that only tests and benchmarks call today ---------------------
# The event-stream reader is the GUI training panel's side of the trainer protocol (next issue);
# the LabelMe helpers complete the reader/writer pair for shape types the station does not draw.
from_line
read_events
SHAPE_TYPES
make_mask_shape
_.from_documents

# --- read by tests and docs/screenshots/make_training_screenshot.py (outside vulture's paths) ----
_.has_images

# --- public read-outs and setters that tests and benchmarks use (outside vulture's paths) -------
# They expose what a view shows or a worker did, so tests assert through public API instead of
# private attributes (issue: no test reads a private attribute).
_.set_current_label
_.tool
_.context_menu
_.tiny_count
_.row_texts
_.label_texts
_.stale_dropped
_.worker_thread
_.worker_ident
_.defect_count
_.unreviewed
_.set_class_visible
_.client_count
EventTail  # services.training: tails a run's events.jsonl (docs/training-jobs.md); tests use it

# --- fields of frozen report/status dataclasses: read through dataclasses.asdict (JSON reports,
# line outputs, the Live tiles) or by callers of the Qt-free services ------------------------
_.shape_index
_.since_frame_s
_.rate_limited
_.over_quota
_.bytes_used
_.recorded
_.output_fps
_.rss_mb_start
_.rss_mb_end
_.total_bytes
_.cpu_threads
_.warmup_device
_.promoted
MODEL_FILES
_.properties  # FrameSource protocol: what the backend reports of a source (live settings panel)
_._arrival
_.row_texts
_.watched_folders  # FolderWatch: the folders under watch (tests wait for the watch to be set up)

# --- image-level decision rule of a model card (core.decision): chosen and written by
# benchmarks/decision_rule.py and tested; the station, batch and live verdicts do not apply it yet
suggest_verdict
_.decision_rule
_.largest_region_px
_.regions_over_min
