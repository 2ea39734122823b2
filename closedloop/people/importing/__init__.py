"""Roster import (``shared/specs/roster-import.md``): read a file, find its
layout, check every row, match against the registry, commit in whole batches."""
