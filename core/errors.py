"""The project's exception types: each message says what was wrong and what to do."""


class LeukemiaAppError(Exception):
    """Base class for errors whose message is written for the person using the tool."""


class ImageLoadError(LeukemiaAppError, ValueError):
    """An uploaded or on-disk image could not be read, or was refused (format, size, corruption)."""


class PreprocessingError(LeukemiaAppError, ValueError):
    """An image decoded but no cell could be found in it (blank, uniform, or no usable mask)."""


class DatasetError(LeukemiaAppError, ValueError):
    """A data folder is missing, empty or not laid out like C-NMC_Leukemia."""


class ModelError(LeukemiaAppError, ValueError):
    """A model file or its sidecar is missing, corrupt or incompatible with this code."""


class DeviceSetupError(LeukemiaAppError, ValueError):
    """A training setting cannot be honoured on the devices (or cluster) at hand."""


class ArchiveError(LeukemiaAppError, ValueError):
    """An uploaded archive (zip) was refused: too large, too many members, unsafe paths, links or nested archives;
    or one person's uploads together were (too many cells, too many bytes)."""


class InferenceServiceError(LeukemiaAppError, ConnectionError):
    """The inference service (`LEUKEMIA_INFERENCE_URL`, `python -m core.serve`) did not answer, or answered with an error."""
