"""All models of the service, in one Tortoise app named `models`. Each name is re-exported as
`X as X` (PEP 484's explicit re-export), so that the list below is the package's whole interface."""

from src.db.models.clients import ApiKey as ApiKey
from src.db.models.clients import Client as Client
from src.db.models.coordination import AccountState as AccountState
from src.db.models.coordination import DispatchState as DispatchState
from src.db.models.coordination import LoginFailure as LoginFailure
from src.db.models.coordination import WorkerLease as WorkerLease
from src.db.models.motions import Motion as Motion
from src.db.models.tasks import FINAL_STATUSES as FINAL_STATUSES
from src.db.models.tasks import UPSTREAM_STATUSES as UPSTREAM_STATUSES
from src.db.models.tasks import CallbackAttempt as CallbackAttempt
from src.db.models.tasks import IdempotencyKey as IdempotencyKey
from src.db.models.tasks import Task as Task
from src.db.models.tasks import TaskImage as TaskImage
from src.db.models.tasks import TaskStatus as TaskStatus
