"""Importing the directory and the use case inventory, and exporting the inventory back.

Imports are all or nothing: every row is checked before anything is written, every problem
is reported as `row N, column C: message`, and the writes happen set-based in one
transaction. Importing the same file twice changes nothing the second time.

One job a module:

- `common`: what every import shares (ImportFailed and its row errors, ImportReport, reading
  a file's rows, set-based lookups and writes);
- `directory`: the directory feed (`import_people`) and the set-based `upsert_people` the
  API's directory sync uses too;
- `contract`: the CONTRACT.md columns, read (`import_use_cases`) and written back
  (`export_use_cases`);
- `federal/`: the US federal inventories (OMB 2025 and 2024) as published;
- `formats`: the one table of inventory formats by name, each with its importer and
  exporter, from which the commands and the pages pick.

Every importer takes a required `actor` and refuses (NotAllowed) unless that actor may
import (`registry.access.can_import`; the directory: `can_change_directory`).
"""
