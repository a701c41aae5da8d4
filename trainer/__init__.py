"""PyTorch trainer for the defect segmentation networks (never imports Qt)."""

__version__ = "0.1.0"
