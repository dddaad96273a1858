"""Python the load test runs inside BotPanel with `manage.py shell -c`: it sets up the agents,
reads what the run needs from the database, and syncs in the background during the load."""

CREATE_USERS = r"""
import json
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management import call_command, get_commands
names, password = json.loads('''{payload}''')
has_createagent = "createagent" in get_commands()
group = Group.objects.filter(name="Agent").first()
# One hash for all: hashing costs a third of a second of CPU, and the accounts are the run's own.
encoded = make_password(password)
for name in names:
    if has_createagent and not User.objects.filter(username=name).exists():
        call_command("createagent", name, stdout=open("/dev/null", "w"))
    user, _ = User.objects.get_or_create(username=name)
    # Agents who have worked here a while: their own password, no one-time one left to change.
    user.password = encoded
    user.save()
    try:
        from leads.models import PasswordChangeRequired
        PasswordChangeRequired.objects.filter(user=user).delete()
    except ImportError:
        pass
    if group and not has_createagent:
        user.groups.add(group)
print(json.dumps({"createagent": has_createagent, "group": bool(group)}))
"""

LEADS_AND_SETTINGS = r"""
import json
from django.conf import settings
from leads.models import Lead
uuids = list(Lead.objects.filter(is_lead=True).order_by("id").values_list("uuid", flat=True))
print(json.dumps({"uuids": uuids, "proxy_ssl": bool(settings.SECURE_PROXY_SSL_HEADER),
                  "ssl_redirect": bool(settings.SECURE_SSL_REDIRECT)}))
"""

CHANGE_STATES = r"""
import json
from django.db.models import Count
from leads.models import Lead, LeadChange
rows = LeadChange.objects.values("action", "state").annotate(n=Count("id"))
missing = Lead.objects.filter(missing_since__isnull=False).count()
print(json.dumps([[[r["action"], r["state"], r["n"]] for r in rows], missing]))
"""


# The tasks the killed worker had claimed and never finished (django-tasks leaves them RUNNING),
# with the state of their lead's edits now: none may still be open.
KILLED_TASKS = r"""
import json
from django_tasks_db.models import DBTaskResult
from leads.models import LeadChange
out = []
for task in DBTaskResult.objects.filter(status="RUNNING"):
    if "{worker_id}" not in (task.worker_ids or []):
        continue
    lead_id = (task.args_kwargs or {}).get("kwargs", {}).get("lead_id")
    changes = LeadChange.objects.filter(lead_id=lead_id)
    delivered = [at.timestamp() for at in changes.values_list("delivered_at", flat=True) if at]
    out.append({
        "task": task.task_path.rsplit(".", 1)[-1],
        "lead": lead_id,
        "started": task.started_at.timestamp() if task.started_at else None,
        "open": changes.filter(state__in=LeadChange.OPEN_STATES).count(),
        "last_delivered": max(delivered, default=None),
    })
print(json.dumps(out))
"""

# Syncs 3 s apart (the 2nd and the 5th --full) in one long-lived process, as a db_worker runs the
# scheduled syncs in production, so that Django's start-up is not paid for every sync.
SYNC_LOOP = r"""
import os, time
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, close_old_connections
start = time.time()
until = start + float(os.environ["LOADTEST_SYNC_SECONDS"])
n = 0
while time.time() < until:
    n += 1
    full = n in (2, 5)
    t0 = time.time()
    # As before a request or a worker's task: a connection the database ended is replaced.
    close_old_connections()
    try:
        call_command("sync_leads", "--no-progress", *(["--full"] if full else []))
        failed = 0
    except (CommandError, DatabaseError) as e:
        print("Sync failed:", type(e).__name__, e)
        failed = 1
    took, at = time.time() - t0, t0 - start
    print(f"SYNCRUN {'full' if full else 'incremental'} {failed} {took:.1f} {at:.1f}", flush=True)
    time.sleep(max(0, min(3, until - time.time())))
"""


MIRROR_STATUS = r"""
import json
from leads.models import Lead
print(json.dumps(dict(Lead.objects.filter(uuid__in={uuids}).values_list("uuid", "status"))))
"""
