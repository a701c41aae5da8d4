"""The station's controllers: QObjects that each own one part of the state, with a small public
API and past-tense signals. They know no widget; the window (:mod:`inspector_app.main_window`)
builds them, connects their signals to each other and to the views. See docs/design.md.
"""

from inspector_app.controllers.annotation import AnnotationController
from inspector_app.controllers.batch import BatchController
from inspector_app.controllers.navigation import NavigationController
from inspector_app.controllers.prediction import PredictionController, ShownPrediction
from inspector_app.controllers.review import ReviewController
from inspector_app.controllers.station import Station

__all__ = [
    "AnnotationController",
    "BatchController",
    "NavigationController",
    "PredictionController",
    "ReviewController",
    "ShownPrediction",
    "Station",
]
