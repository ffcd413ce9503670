"""The data layer's services, in catalog order."""

from . import minio, mlflow, object_backup, pgbackrest, postgres, rabbitmq

SERVICES = (postgres, rabbitmq, minio, mlflow, pgbackrest, object_backup)
