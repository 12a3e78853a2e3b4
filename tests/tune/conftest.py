"""The cluster tests' servers as fixtures for this folder (defined in :mod:`tests.tune.servers`)."""

from tests.tune.servers import cluster_env, mlflow_server, ray_cluster, short_tmp  # noqa: F401
