"""atomflow: atomistic calculation workflows on jobflow, with any calculator."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("atomflow")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["Results", "__version__"]


def __getattr__(name: str):
    # Lazy: `import atomflow` stays fast; `from atomflow import Results` opens nothing until called.
    if name == "Results":
        from atomflow.results import Results

        return Results
    raise AttributeError(f"module 'atomflow' has no attribute {name!r}")
