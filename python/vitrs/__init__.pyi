from ._native import (
    FileError as FileError,
    ImageError as ImageError,
    Model as Model,
    ModelError as ModelError,
    VitrsError as VitrsError,
    __version__ as __version__,
    pool_threads as pool_threads,
    preprocess as preprocess,
)
