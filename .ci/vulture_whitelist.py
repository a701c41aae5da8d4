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

# --- PENDING: GUI modules rewritten by the station-controllers work (issue 7, section 1) ---------
# These are unused or test-only members of inspector_app/{station,main_window,canvas,editing,
# filelist,jobs,widgets,services} files that another branch owns at the time of writing. Delete
# each line when that branch has removed (or started using) the member; `vulture` then keeps the
# rest honest.
_.set_current_label
_.tool
_.confirm_shapes
_.clipboard
_.set_hidden
_.set_locked
_.stale_dropped
_.worker_thread
_.worker_ident
_.last_switch_ms
_.toolbar
last_switch_ms
toolbar
iter_rows
_.defect_count
_.unreviewed
_.show_model_card
_.set_class_visible
_.row_texts
_.watched_folders  # FolderWatch: the folders under watch (tests wait for the watch to be set up)
