"""Python the load test runs inside BotPanel with `manage.py shell -c`: it sets up the agents,
reads what the run needs from the database, and syncs in the background during the load."""

CREATE_USERS = r"""
import json
from django.contrib.auth.models import Group, User
from django.core.management import call_command, get_commands
names, password = json.loads('''{payload}''')
has_createagent = "createagent" in get_commands()
group = Group.objects.filter(name="Agent").first()
for name in names:
    if has_createagent and not User.objects.filter(username=name).exists():
        call_command("createagent", name, stdout=open("/dev/null", "w"))
    user, _ = User.objects.get_or_create(username=name)
    # Agents who have worked here a while: their own password, no one-time one left to change.
    user.set_password(password)
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


# Syncs 3 s apart (the 2nd and the 5th --full) in one long-lived process, as a db_worker runs the
# scheduled syncs in production, so that Django's start-up is not paid for every sync.
SYNC_LOOP = r"""
import os, time
from django.core.management import call_command
from django.core.management.base import CommandError
start = time.time()
until = start + float(os.environ["LOADTEST_SYNC_SECONDS"])
n = 0
while time.time() < until:
    n += 1
    full = n in (2, 5)
    t0 = time.time()
    try:
        call_command("sync_leads", "--no-progress", *(["--full"] if full else []))
        failed = 0
    except CommandError as e:
        print("Sync failed:", e)
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
