"""Mirror BotPenguin chats into `Lead` rows: `run` drives a sync, `lease` keeps it alone, `pages`
reads the listing, `rows` turns a page into rows, `writer` writes them, `statistics` refreshes
the planner's statistics afterwards. Nothing is re-exported here: import from the module."""
