"""What the insights page measures, in pieces that know nothing of the selectors: the period
(calendar days in the person's time zone, period.py), the SQL that buckets and times rows on
both databases (sql.py), the figures' shapes (figures.py), the filter form (forms.py) and the
charts, tables, CSVs and list links made from the figures (charts.py).

The definitions, in one place (the README repeats them for people):

* a lead *arrives* at its `remote_created_at` (BotPenguin's createdAt); a lead without one is
  in the funnel, the workload and the backlog, but in no figure of arrivals, tags or time;
* *time to first action*: from arrival to the lead's first recorded status change
  (StatusChange, by BotPanel or seen by a sync), counted when that change moves it away from
  Open, in the week the change happened; a lead first seen in another status has none;
* *time to close*: from arrival to the last time the lead entered Closed, for leads that are
  Closed now, in the week of that last closing; a lead reopened and not closed again has none;
* *closed in the range* (workload): those same leads, by their agent now;
* *waiting*: since `Lead.waiting_since` (its last status change, or arrival while still Open).
"""
