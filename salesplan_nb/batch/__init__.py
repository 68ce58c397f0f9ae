"""batch layer: ``salesplan run`` / ``salesplan demo``, their executors and engine."""

from salesplan_nb.batch import speedups as _speedups

_speedups.skip_iri_checker()  # first thing: before anything in this process imports jsonschema
